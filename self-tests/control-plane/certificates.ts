/**
 * The certificates a local control plane needs, made with the machine's openssl for one run:
 * a CA, the API server's serving certificate (for 127.0.0.1 and localhost), an admin client
 * certificate in the group `system:masters` (which RBAC lets do anything: the
 * system:masters ClusterRoleBinding of the API server's bootstrap policy), and the key pair
 * that signs and verifies service-account tokens.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

export interface Certificates {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

async function openssl(args: string[]): Promise<void> {
  const r = await execa('openssl', args, { reject: false });
  if (r.exitCode !== 0) throw new Error(`openssl ${args.slice(0, 2).join(' ')} failed: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
}

/** Writes all certificates into `dir` and returns their paths. */
export async function makeCertificates(dir: string): Promise<Certificates> {
  const p = (name: string) => join(dir, name);
  const c: Certificates = {
    caCert: p('ca.crt'), caKey: p('ca.key'),
    serverCert: p('apiserver.crt'), serverKey: p('apiserver.key'),
    adminCert: p('admin.crt'), adminKey: p('admin.key'),
    serviceAccountKey: p('sa.key'), serviceAccountPub: p('sa.pub'),
  };
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', c.caKey, '-out', c.caCert, '-days', '2', '-subj', '/CN=egress-verify-local-ca']);
  const signed = async (key: string, cert: string, subject: string, extensions: string) => {
    const csr = `${cert}.csr`;
    const ext = `${cert}.ext`;
    await writeFile(ext, extensions);
    await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', subject]);
    await openssl(['x509', '-req', '-in', csr, '-CA', c.caCert, '-CAkey', c.caKey, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext]);
  };
  await signed(c.serverKey, c.serverCert, '/CN=kube-apiserver',
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n');
  await signed(c.adminKey, c.adminCert, '/O=system:masters/CN=egress-verify-admin',
    'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n');
  await openssl(['genrsa', '-out', c.serviceAccountKey, '2048']);
  await openssl(['rsa', '-in', c.serviceAccountKey, '-pubout', '-out', c.serviceAccountPub]);
  return c;
}
