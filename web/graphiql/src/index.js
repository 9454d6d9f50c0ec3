// payql's GraphiQL page: the IDE, the explorer plugin, HTTP at this page's own URL and
// subscriptions over graphql-transport-ws at the same URL.
import { explorerPlugin } from "@graphiql/plugin-explorer";
import "@graphiql/plugin-explorer/dist/style.css";
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import "graphiql/graphiql.css";
import "./page.css";
import React from "react";
import { createRoot } from "react-dom/client";

const WELCOME = `# payql: GraphQL payments API
#
# The catalog is public. For anything else put your token in the Headers tab below:
#   {"Authorization": "Bearer <token>"}
# Subscriptions receive the same headers in the websocket's connection_init.
#
# Run: Ctrl-Enter (or the play button). Complete: Ctrl-Space.

{
  workspace(slug: "demo") {
    id name
    products { id name remaining price { formatted } }
  }
}
`;

// The query and variables live in the page's URL so a link shares them; headers do not
// (they carry tokens).
const parameters = new URLSearchParams(window.location.search);

function remember(key, value) {
  if (value) parameters.set(key, value);
  else parameters.delete(key);
  const search = parameters.toString();
  history.replaceState(null, "", search ? `?${search}` : window.location.pathname);
}

const url = window.location.href.split(/[?#]/)[0];
const subscriptionUrl = new URL(url);
subscriptionUrl.protocol = subscriptionUrl.protocol === "https:" ? "wss:" : "ws:";

// The toolkit opens one websocket per subscription with the Headers tab's headers as
// connection_init's payload, which is where payql reads a browser's token.
const fetcher = createGraphiQLFetcher({ url, subscriptionUrl: subscriptionUrl.toString() });
const plugins = [explorerPlugin()];

function Page() {
  const [query, setQuery] = React.useState(parameters.get("q") ?? WELCOME);
  const [variables, setVariables] = React.useState(parameters.get("variables") ?? undefined);
  return React.createElement(GraphiQL, {
    fetcher,
    plugins,
    query,
    variables,
    onEditQuery: (value) => {
      setQuery(value);
      remember("q", value);
    },
    onEditVariables: (value) => {
      setVariables(value);
      remember("variables", value);
    },
    defaultEditorToolsVisibility: true,
    inputValueDeprecation: true,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: true,
  });
}

createRoot(document.getElementById("graphiql")).render(React.createElement(Page));
