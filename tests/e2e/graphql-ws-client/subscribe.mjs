// Subscribe to a job's log with the npm graphql-ws client and print every chunk as a
// JSON line; exit 0 once the subscription completes.
// Usage: node subscribe.mjs URL JOB_ID [AUTHORIZATION] (sent in the connection_init payload)
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, jobId, authorization] = process.argv.slice(2);
const connectionParams = authorization ? { Authorization: authorization } : {};
const client = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams });
const query = `subscription L($id: ID!) {
  logAppended(jobId: $id, fromOffset: 0) { offset text nextOffset complete } }`;

await new Promise((resolve, reject) => {
  client.subscribe(
    { query, variables: { id: jobId } },
    {
      next: (value) => process.stdout.write(JSON.stringify(value) + "\n"),
      error: reject,
      complete: resolve,
    },
  );
});
await client.dispose();
