/**
 * The CDK app (`cdk synth` / `cdk deploy`, see cdk.json): the installation
 * declared by the flow named in the `flow` context (`-c flow=path/to/flow`).
 * Synth is offline: no lookups, no credentials.
 */
import { resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { loadFlow } from '../shared/flow/load.ts';
import { addNagChecks, buildInstallation } from './installation.ts';

const app = new App();
const flowDir = app.node.tryGetContext('flow') as unknown;
if (typeof flowDir !== 'string' || flowDir === '') {
  throw new Error('context "flow": missing, expected the path of a flow directory (cdk.json, or -c flow=<dir>)');
}
buildInstallation(app, await loadFlow(resolve(flowDir)));
addNagChecks(app);
app.synth();
