// Subscribes with the reference graphql-ws client and prints each result as one JSON line.
// usage: node subscribe.mjs <ws url> <Authorization value or ""> <query> <variables JSON> <results wanted>
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, authorization, query, variables, wanted] = process.argv.slice(2);
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  lazy: false,
  retryAttempts: 0,
  connectionParams: authorization ? { Authorization: authorization } : {},
  on: { closed: (event) => console.log(JSON.stringify({ closed: event.code, reason: event.reason })) },
});

let received = 0;
try {
  for await (const result of client.iterate({ query, variables: JSON.parse(variables) })) {
    console.log(JSON.stringify(result));
    received += 1;
    if (received >= Number(wanted)) break;
  }
} catch (error) {
  console.log(JSON.stringify({ error: Array.isArray(error) ? error : String(error?.message ?? error) }));
}
await client.dispose();
process.exit(0);
