// A hand-written graphql-yoga + DataLoader server of the Mobius schema subset the benchmark uses:
// what a Node team would write by hand. Per-request loaders batch the keys of one tick; identity
// uses OAuth2 client credentials, billing signs every request (HMAC), projects takes a bearer token.
//
// Environment: PORT, WORKERS (cluster workers), IDENTITY_URL, BILLING_URL, PROJECTS_URL and the
// sandbox credentials (defaults match `mobius sandbox`).
import cluster from 'node:cluster';
import { createHash, createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import DataLoader from 'dataloader';
import { createSchema, createYoga } from 'graphql-yoga';

const env = process.env;
const PORT = Number(env.PORT ?? 4001);
const WORKERS = Number(env.WORKERS ?? 1);
const IDENTITY = env.IDENTITY_URL ?? 'http://127.0.0.1:8101';
const BILLING = env.BILLING_URL ?? 'http://127.0.0.1:8102';
const PROJECTS = env.PROJECTS_URL ?? 'http://127.0.0.1:8103';
const CLIENT_ID = env.IDENTITY_CLIENT_ID ?? 'mobius-gateway';
const CLIENT_SECRET = env.IDENTITY_CLIENT_SECRET ?? 'sandbox-identity-secret';
const BILLING_KEY = env.BILLING_API_KEY ?? 'sk_sandbox_mobius';
const BILLING_SECRET = env.BILLING_SIGNING_SECRET ?? 'sandbox-billing-signing-secret';
const PROJECTS_TOKEN = env.PROJECTS_TOKEN ?? 'sandbox-projects-token';

class UpstreamError extends Error {}

// --- identity: OAuth2 client credentials, one token shared by all requests, refreshed on 401 ---
let tokenPromise = null;
function identityToken(refresh = false) {
  if (refresh || tokenPromise === null) {
    const basic = Buffer.from(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(CLIENT_SECRET)}`).toString('base64');
    tokenPromise = fetch(`${IDENTITY}/oauth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    }).then(async (r) => {
      if (!r.ok) throw new UpstreamError(`identity token: ${r.status}`);
      return (await r.json()).access_token;
    });
    tokenPromise.catch(() => { tokenPromise = null; });
  }
  return tokenPromise;
}

async function identityGet(path) {
  for (let attempt = 0; attempt < 2; attempt++) {
    const token = await identityToken(attempt > 0);
    const r = await fetch(IDENTITY + path, { headers: { authorization: `Bearer ${token}` } });
    if (r.status === 401 && attempt === 0) continue;
    if (r.status === 404) return null;
    if (!r.ok) throw new UpstreamError(`identity: ${r.status}`);
    return r.json();
  }
  throw new UpstreamError('identity: unauthorized');
}

// --- billing: API key + HMAC-SHA256 signature over t.METHOD.path.sha256(body) ---
const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');
async function billingGet(path) {
  const t = Math.floor(Date.now() / 1000);
  const v1 = createHmac('sha256', BILLING_SECRET).update(`${t}.GET.${path}.${EMPTY_SHA256}`).digest('hex');
  const r = await fetch(BILLING + path, {
    headers: { authorization: `Bearer ${BILLING_KEY}`, 'mobius-signature': `t=${t},v1=${v1}` },
  });
  if (!r.ok) throw new UpstreamError(`billing: ${r.status}`);
  return r.json();
}

// --- projects: GraphQL with a bearer token ---
async function projectsQuery(query, variables) {
  const r = await fetch(`${PROJECTS}/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${PROJECTS_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  if (!r.ok) throw new UpstreamError(`projects: ${r.status}`);
  const body = await r.json();
  if (!body.data) throw new UpstreamError('projects: no data');
  return body.data;
}

const q = encodeURIComponent;
const PAGE_INFO = 'pageInfo { hasNextPage endCursor }';

function chunks(keys, size) {
  const out = [];
  for (let i = 0; i < keys.length; i += size) out.push(keys.slice(i, i + size));
  return out;
}

function buildLoaders() {
  const users = new DataLoader(async (ids) => {
    const found = new Map();
    await Promise.all(chunks(ids, 100).map(async (part) => {
      const page = await identityGet(`/v1/users?ids=${part.map(q).join(',')}`);
      for (const u of page.data) found.set(u.id, u);
    }));
    return ids.map((id) => found.get(id) ?? null);
  }, { maxBatchSize: 100 });
  const orgs = new DataLoader(async (ids) => {
    const page = await identityGet(`/v1/orgs?ids=${ids.map(q).join(',')}`);
    const found = new Map(page.data.map((o) => [o.id, o]));
    return ids.map((id) => found.get(id) ?? null);
  });
  const members = new DataLoader(async (keys) => Promise.all(keys.map(async (key) => {
    const [orgId, first, after] = JSON.parse(key);
    const page = await identityGet(`/v1/orgs/${q(orgId)}/members?limit=${first}${after ? `&cursor=${q(after)}` : ''}`);
    if (page) for (const u of page.data) users.prime(u.id, u);
    return page;
  }).map((p) => p.catch((e) => e))));
  const customers = new DataLoader(async (orgIds) => Promise.all(orgIds.map((orgId) =>
    billingGet(`/v1/customers?org_id=${q(orgId)}`).then((p) => p.data[0] ?? null, (e) => e))));
  const subscriptions = new DataLoader(async (ids) => Promise.all(ids.map((id) =>
    billingGet(`/v1/subscriptions?customer=${q(id)}`).then((p) => p.data[0] ?? null, (e) => e))));
  const invoices = new DataLoader(async (keys) => Promise.all(keys.map((key) => {
    const [customer, first] = JSON.parse(key);
    return billingGet(`/v1/invoices?customer=${q(customer)}&limit=${first}`).then((p) => p.data, (e) => e);
  })));
  const projectsByOrg = new DataLoader(async (keys) => {
    const vars = {};
    const fields = keys.map((key, i) => {
      const [orgId, first, after] = JSON.parse(key);
      Object.assign(vars, { [`o${i}`]: orgId, [`f${i}`]: first, [`a${i}`]: after ?? null });
      return `k${i}: projects(orgId: $o${i}, first: $f${i}, after: $a${i}) { totalCount ${PAGE_INFO} nodes { id name orgId ownerId state } }`;
    });
    const decl = keys.map((_, i) => `$o${i}: ID!, $f${i}: Int, $a${i}: String`).join(', ');
    const data = await projectsQuery(`query P(${decl}) { ${fields.join(' ')} }`, vars);
    return keys.map((_, i) => data[`k${i}`]);
  });
  const issues = new DataLoader(async (keys) => {
    const vars = {};
    const fields = keys.map((key, i) => {
      const [projectId, first, after] = JSON.parse(key);
      Object.assign(vars, { [`p${i}`]: projectId, [`f${i}`]: first, [`a${i}`]: after ?? null });
      return `k${i}: node(id: $p${i}) { ... on Project { issues(first: $f${i}, after: $a${i}) { totalCount ${PAGE_INFO} nodes { id title state assigneeId projectId } } } }`;
    });
    const decl = keys.map((_, i) => `$p${i}: ID!, $f${i}: Int, $a${i}: String`).join(', ');
    const data = await projectsQuery(`query I(${decl}) { ${fields.join(' ')} }`, vars);
    return keys.map((_, i) => data[`k${i}`]?.issues ?? null);
  });
  return { users, orgs, members, customers, subscriptions, invoices, projectsByOrg, issues };
}

const typeDefs = /* GraphQL */ `
  scalar Date
  scalar Decimal
  type PageInfo { hasNextPage: Boolean! endCursor: String }
  type User { id: ID! name: String! updatedAt: String! etag: String! organization: Organization }
  type UserConnection { totalCount: Int! pageInfo: PageInfo! nodes: [User!]! }
  type Money { amount: Decimal! minorUnits: Int! currency: String! }
  type Invoice { id: ID! number: String! amountDue: Money! status: String! dueDate: Date }
  type BillingAccount { plan: String status: String seats: Int invoices(first: Int! = 10): [Invoice!]! }
  enum IssueState { OPEN CLOSED }
  enum ProjectState { ACTIVE ARCHIVED }
  type Issue { id: ID! title: String! state: IssueState! assignee: User }
  type IssueConnection { totalCount: Int! pageInfo: PageInfo! nodes: [Issue!]! }
  type Project { id: ID! name: String! state: ProjectState! owner: User issues(first: Int! = 10, after: String): IssueConnection! }
  type ProjectConnection { totalCount: Int! pageInfo: PageInfo! nodes: [Project!]! }
  type Organization {
    id: ID! name: String! slug: String
    members(first: Int! = 50, after: String): UserConnection!
    billing: BillingAccount
    projects(first: Int! = 20, after: String): ProjectConnection
  }
  type Query {
    organization(id: ID!): Organization
    user(id: ID!): User
    users(ids: [ID!]!): [User]!
  }
`;

const ZERO_DECIMAL = new Set(['jpy', 'krw', 'vnd', 'clp']);
const connection = (page) => page;

const resolvers = {
  Query: {
    organization: (_, { id }, { loaders }) => loaders.orgs.load(id),
    user: (_, { id }, { loaders }) => loaders.users.load(id),
    users: (_, { ids }, { loaders }) => loaders.users.loadMany(ids).then((r) => r.map((u) => (u instanceof Error ? null : u))),
  },
  User: {
    updatedAt: (u) => u.updated_at,
    organization: (u, _, { loaders }) => loaders.orgs.load(u.org_id),
  },
  Organization: {
    members: async (org, { first, after }, { loaders }) => {
      const page = await loaders.members.load(JSON.stringify([org.id, first, after ?? null]));
      if (!page) return { totalCount: 0, pageInfo: { hasNextPage: false, endCursor: null }, nodes: [] };
      return {
        totalCount: page.total_count,
        pageInfo: { hasNextPage: page.next_cursor != null, endCursor: page.next_cursor ?? null },
        nodes: page.data,
      };
    },
    billing: async (org, _, { loaders }) => {
      const customer = await loaders.customers.load(org.id);
      return customer ? { customerId: customer.id } : null;
    },
    projects: (org, { first, after }, { loaders }) => loaders.projectsByOrg.load(JSON.stringify([org.id, first, after ?? null])).then(connection),
  },
  BillingAccount: {
    plan: (a, _, { loaders }) => loaders.subscriptions.load(a.customerId).then((s) => s?.plan ?? null),
    status: (a, _, { loaders }) => loaders.subscriptions.load(a.customerId).then((s) => s?.status.toUpperCase() ?? null),
    seats: (a, _, { loaders }) => loaders.subscriptions.load(a.customerId).then((s) => s?.seats ?? null),
    invoices: (a, { first }, { loaders }) => loaders.invoices.load(JSON.stringify([a.customerId, first])),
  },
  Invoice: {
    status: (i) => i.status.toUpperCase(),
    amountDue: (i) => {
      const exponent = ZERO_DECIMAL.has(i.currency.toLowerCase()) ? 0 : 2;
      return { amount: (i.amount_due / 10 ** exponent).toFixed(exponent), minorUnits: i.amount_due, currency: i.currency.toUpperCase() };
    },
    dueDate: (i) => (i.due_date ? new Date(i.due_date * 1000).toISOString().slice(0, 10) : null),
  },
  Project: {
    owner: (p, _, { loaders }) => loaders.users.load(p.ownerId),
    issues: async (p, { first, after }, { loaders }) => {
      const page = await loaders.issues.load(JSON.stringify([p.id, first, after ?? null]));
      return page ?? { totalCount: 0, pageInfo: { hasNextPage: false, endCursor: null }, nodes: [] };
    },
  },
  Issue: {
    assignee: (i, _, { loaders }) => (i.assigneeId ? loaders.users.load(i.assigneeId) : null),
  },
};

function serve() {
  const yoga = createYoga({
    schema: createSchema({ typeDefs, resolvers }),
    context: () => ({ loaders: buildLoaders() }),
    graphiql: false,
    logging: false,
    maskedErrors: true,
  });
  createServer(yoga).listen(PORT, '127.0.0.1');
}

if (WORKERS > 1 && cluster.isPrimary) {
  for (let i = 0; i < WORKERS; i++) cluster.fork();
} else {
  serve();
}
