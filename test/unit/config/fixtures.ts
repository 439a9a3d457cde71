/** Shared inputs of the config tests: a valid 3-node setup given through the environment. */
export const MEMBERS = 'n1@127.0.0.1:9100/z1/1,n2@127.0.0.1:9101/z2/1,n3@127.0.0.1:9102/z3/1';

/** Credentials and node id, as the environment would give them. */
export const BASE_ENV: Readonly<Record<string, string>> = {
  RINGSTORE_NODE_ID: 'n1',
  RINGSTORE_ACCESS_KEY: 'AKTEST0000',
  RINGSTORE_SECRET_KEY: 'secret-key-0123456789',
  RINGSTORE_CLUSTER_SECRET: '0123456789abcdef-cluster',
  RINGSTORE_CLUSTER_MEMBERS: MEMBERS,
};

/** A valid config tree (before defaults), for validation tests. */
export function validTree(): Record<string, unknown> {
  return {
    nodeId: 'n1',
    s3: { accessKey: 'AKTEST0000', secretKey: 'secret-key-0123456789' },
    rpc: { secret: '0123456789abcdef-cluster' },
    cluster: {
      members: [
        { id: 'n1', address: '127.0.0.1:9100', zone: 'z1', capacity: 1 },
        { id: 'n2', address: '127.0.0.1:9101', zone: 'z2', capacity: 1 },
        { id: 'n3', address: '127.0.0.1:9102', zone: 'z3', capacity: 1 },
      ],
    },
  };
}
