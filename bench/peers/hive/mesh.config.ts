// Hive Gateway's supergraph, composed by Mesh Compose from the sandbox's OpenAPI documents
// (identity, billing) and the projects GraphQL endpoint. The join into the Mobius dashboard shape
// lives in gateway.config.ts (additional type definitions and resolvers).
import { createPrefixTransform, defineConfig, loadGraphQLHTTPSubgraph } from '@graphql-mesh/compose-cli';
import { loadOpenAPISubgraph } from '@omnigraph/openapi';

const env = process.env;
const IDENTITY = env.IDENTITY_URL ?? 'http://127.0.0.1:8101';
const BILLING = env.BILLING_URL ?? 'http://127.0.0.1:8102';
const PROJECTS = env.PROJECTS_URL ?? 'http://127.0.0.1:8103';

export const composeConfig = defineConfig({
  subgraphs: [
    {
      sourceHandler: loadOpenAPISubgraph('identity', {
        source: `${IDENTITY}/openapi.json`,
        endpoint: '{env.IDENTITY_URL}',
        operationHeaders: { Authorization: 'Bearer {env.IDENTITY_TOKEN}' },
      }),
      transforms: [createPrefixTransform({ value: 'Identity_', includeRootOperations: false })],
    },
    {
      sourceHandler: loadOpenAPISubgraph('billing', {
        source: `${BILLING}/openapi.json`,
        endpoint: '{env.BILLING_URL}',
        operationHeaders: { Authorization: 'Bearer {env.BILLING_API_KEY}' },
      }),
      transforms: [createPrefixTransform({ value: 'Billing_', includeRootOperations: false })],
    },
    {
      sourceHandler: loadGraphQLHTTPSubgraph('projects', {
        endpoint: '{env.PROJECTS_URL}/graphql',
        source: undefined,
        schemaHeaders: { Authorization: `Bearer ${env.PROJECTS_TOKEN ?? 'sandbox-projects-token'}` },
        operationHeaders: { Authorization: 'Bearer {env.PROJECTS_TOKEN}' },
      }),
    },
  ],
});
