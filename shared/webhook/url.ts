/**
 * Webhook URLs as configs hold them: http(s), no credentials (configs are
 * stored in the metadata and in templates; the signature authenticates Reef),
 * no fragment. Only a URL's origin and path are ever printed: a query string
 * may carry a token the receiver asked for.
 */

/** What may be printed of a URL: its origin and path. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(not a URL)';
  }
}

/** Everything wrong with a webhook URL, each as `found ..., expected ...`; empty when it is fine. */
export function webhookUrlProblems(text: string): string[] {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return [`found ${JSON.stringify(describeUrl(text))}, which is not a URL; expected http(s)://host/path`];
  }
  const problems: string[] = [];
  if (url.protocol !== 'https:' && url.protocol !== 'http:') problems.push(`found the scheme ${url.protocol}; expected http: or https:`);
  if (url.username !== '' || url.password !== '') {
    problems.push('found user:password@ in the URL; expected none: configs are stored in the metadata and must not hold credentials (the signature authenticates Reef)');
  }
  if (url.hash !== '') problems.push('found a #fragment; expected none (it is never sent)');
  return problems;
}
