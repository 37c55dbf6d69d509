// oidc-provider issuing client-credentials access tokens as RS256 JWTs, one RSA-2048
// signature per token like the emulator's token endpoint: the anchor of the token
// issuance benchmark (scripts/bench starts it pinned to one core with taskset and drives
// it with the same load generator as the emulator).
//
//   node server.js [port]        # 0 (default): any free port on 127.0.0.1
//
// Prints one line `listening http://127.0.0.1:PORT` once it accepts requests. The token
// request it expects (client_secret_post, RFC 8707 resource indicator):
//   POST /token  grant_type=client_credentials&client_id=bench&client_secret=…&resource=…
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

export const CLIENT_ID = 'bench';
export const CLIENT_SECRET = 'bench-secret-0123456789abcdefghijklmnopqrstuv';
export const RESOURCE = 'https://api.securitycenter.microsoft.com';

const port = Number(process.argv[2] ?? 0);
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-rs256', use: 'sig', alg: 'RS256' };

const issuer = 'http://127.0.0.1';
const provider = new Provider(issuer, {
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_post',
    },
  ],
  jwks: { keys: [jwk] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resource) => {
        if (resource !== RESOURCE) {
          throw new Provider.errors.InvalidTarget();
        }
        return {
          scope: 'Alert.Read.All',
          audience: RESOURCE,
          accessTokenTTL: 3599,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
});
provider.on('server_error', (_ctx, err) => console.error('server_error', err));

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`listening http://127.0.0.1:${server.address().port}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
