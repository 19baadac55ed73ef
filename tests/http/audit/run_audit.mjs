// Runs graphql-http's server audits (every MUST, SHOULD and MAY of GraphQL over HTTP it checks)
// against the URL given as the only argument and prints one JSON array of results.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
const results = [];
for (const audit of serverAudits({ url })) {
  const result = await audit.fn();
  results.push({ id: result.id, name: result.name, status: result.status, reason: result.reason ?? null });
}
process.stdout.write(JSON.stringify(results));
