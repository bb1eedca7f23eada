// An in-test AWS STS endpoint for the one call IRSA makes: AssumeRoleWithWebIdentity, in STS's query protocol
// (a form-encoded POST, an XML answer). The AWS SDK makes it when AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are
// set, as EKS sets them for a service account with an IAM role.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TestCa } from './test-ca.ts';
import { issueCertificate } from './test-ca.ts';

export interface StsCall {
  readonly action: string | null;
  readonly roleArn: string | null;
  readonly webIdentityToken: string | null;
}

export interface FakeSts {
  readonly url: string;
  readonly calls: StsCall[];
  close(): Promise<void>;
}

/** The temporary credentials every call gets. */
export const FAKE_STS_ACCESS_KEY_ID = 'ASIAFAKEFAKEFAKEFAKE';

export async function startFakeSts(ca: TestCa): Promise<FakeSts> {
  const leaf = await issueCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const calls: StsCall[] = [];
  const server: Server = createServer({ cert: leaf.cert, key: leaf.key }, (req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      calls.push({ action: form.get('Action'), roleArn: form.get('RoleArn'), webIdentityToken: form.get('WebIdentityToken') });
      const expiration = new Date(Date.now() + 3_600_000).toISOString();
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult>` +
          `<Credentials><AccessKeyId>${FAKE_STS_ACCESS_KEY_ID}</AccessKeyId><SecretAccessKey>fake/secret</SecretAccessKey>` +
          `<SessionToken>fake-session-token</SessionToken><Expiration>${expiration}</Expiration></Credentials>` +
          `<AssumedRoleUser><Arn>${form.get('RoleArn') ?? ''}/session</Arn><AssumedRoleId>AROAFAKE:session</AssumedRoleId></AssumedRoleUser>` +
          `</AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
