/**
 * How a pass-running slice's state machine is started (the organize slice,
 * each harness slice): by an EventBridge rule on the installation's bus when
 * a data event it waits for arrives, and by a fallback schedule for whatever
 * an event-started execution left. Both hand the machine a PassRunRequest
 * and assume a role of their own that only this account's rules or schedules
 * may assume.
 */
import { Aws, TimeZone, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventsTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { PassRunRequest } from '../../shared/orchestration/pass-contracts.ts';
import { toScheduleExpression } from '../schedule.ts';

/** The source of every event a slice's functions put on the bus (shared/runtime/aws.ts). */
export const eventSourceOf = (installation: string): string => `reef.${installation}`;

/** The detail-type of a data event of type `type` (`data:batch.committed`), as shared/runtime/aws.ts writes it. */
export const dataDetailType = (type: string): string => `data:${type}`;

export interface StartOnEventsProps {
  /** Construct ids of the rule and its role (stable: they name deployed resources). */
  ruleId: string;
  roleId: string;
  eventBus: events.IEventBus;
  stateMachine: sfn.IStateMachine;
  eventPattern: events.EventPattern;
  description: string;
  roleDescription: string;
  /** Why losing a start is harmless (nag's Serverless-EventBusDLQ). */
  noDlqReason: string;
}

/** A rule that starts the machine with `{ trigger: 'event', slice, dataset, timelabel }` of the matched data event. */
export function startOnDataEvents(scope: Construct, props: StartOnEventsProps): events.Rule {
  const request: PassRunRequest = {
    trigger: 'event',
    slice: events.EventField.fromPath('$.detail.slice'),
    dataset: events.EventField.fromPath('$.detail.dataset'),
    timelabel: events.EventField.fromPath('$.detail.timelabel'),
  };
  const rule = new events.Rule(scope, props.ruleId, {
    eventBus: props.eventBus,
    description: props.description,
    eventPattern: props.eventPattern,
    targets: [
      new eventsTargets.SfnStateMachine(props.stateMachine, {
        input: events.RuleTargetInput.fromObject(request),
        role: new iam.Role(scope, props.roleId, {
          // Only rules of this account may assume it (confused-deputy guard).
          assumedBy: new iam.ServicePrincipal('events.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } } }),
          description: props.roleDescription,
        }),
      }),
    ],
  });
  Validations.of(rule).acknowledge({ id: 'Serverless-EventBusDLQ', reason: props.noDlqReason });
  return rule;
}

export interface StartOnScheduleProps {
  scheduleId: string;
  roleId: string;
  stateMachine: sfn.IStateMachine;
  /** `every 1 hour`, a 5-field UTC cron (schedule.ts). */
  schedule: string;
  description: string;
  roleDescription: string;
}

/** A schedule (UTC) that starts the machine with `{ trigger: 'schedule', scheduledTime }`. */
export function startOnSchedule(scope: Construct, props: StartOnScheduleProps): scheduler.Schedule {
  const request: PassRunRequest = { trigger: 'schedule', scheduledTime: scheduler.ContextAttribute.scheduledTime };
  return new scheduler.Schedule(scope, props.scheduleId, {
    description: props.description,
    schedule: scheduler.ScheduleExpression.expression(toScheduleExpression(props.schedule), TimeZone.ETC_UTC),
    target: new schedulerTargets.StepFunctionsStartExecution(props.stateMachine, {
      input: scheduler.ScheduleTargetInput.fromObject(request),
      role: new iam.Role(scope, props.roleId, {
        // Only schedules of this account may assume it (confused-deputy guard).
        assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } } }),
        description: props.roleDescription,
      }),
    }),
  });
}
