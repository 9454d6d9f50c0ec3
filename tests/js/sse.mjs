// Subscribes with the reference graphql-sse client (distinct connections mode) and prints
// every result as one JSON line, then {"complete": true} when the server completes.
// Usage: PAYQL_TOKEN=… node sse.mjs <graphql endpoint url> <document> [variables as JSON]
import { createClient } from 'graphql-sse';

const [url, query, variables] = process.argv.slice(2);
if (!url || !query) {
  console.error('usage: node sse.mjs <url> <document> [variables-json]');
  process.exit(2);
}
const token = process.env.PAYQL_TOKEN;
const client = createClient({
  url,
  headers: token ? { Authorization: `Bearer ${token}` } : {},
  retryAttempts: 0,
});
try {
  const request = { query, variables: variables ? JSON.parse(variables) : {} };
  for await (const result of client.iterate(request)) {
    console.log(JSON.stringify(result));
  }
  console.log(JSON.stringify({ complete: true }));
} catch (error) {
  console.error(error instanceof Error ? error.message : JSON.stringify(error));
  process.exitCode = 1;
} finally {
  client.dispose();
}
