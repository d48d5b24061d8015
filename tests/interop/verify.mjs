// Verifies the ledger's credentials with Digital Bazaar's libraries, offline.
//
//   node verify.mjs <input.json> <contexts directory>
//
// input.json: {"credentials": {name: credential}, "documents": {url: document}} where
// "documents" holds the status list credentials a verifier would fetch. Contexts come only from
// the files the ledger ships (the contexts directory); did:key documents are computed. Any other
// URL fails: nothing is fetched from the network.
// Prints {name: {verified, revoked, error, expanded}} as JSON.
import {readFileSync} from 'node:fs';
import {join} from 'node:path';

import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {createVerifyCryptosuite} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';
import {driver as didKeyDriver} from '@digitalbazaar/did-method-key';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import jsonld from 'jsonld';

const [inputPath, contextsDir] = process.argv.slice(2);
const input = JSON.parse(readFileSync(inputPath, 'utf8'));

const LEDGER_CONTEXT_PATH = '/contexts/service-hour-ledger-v1.jsonld';
const shipped = {
  'https://www.w3.org/ns/credentials/v2': 'credentials-v2.jsonld',
  'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json': 'ob-v3p0-context-3.0.3.json',
};

const didKey = didKeyDriver();
didKey.use({multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from});

async function documentLoader(url) {
  let file = shipped[url];
  if(!file && /^https?:\/\//.test(url) && new URL(url).pathname.endsWith(LEDGER_CONTEXT_PATH)) {
    file = 'service-hour-ledger-v1.jsonld';
  }
  if(file) {
    const document = JSON.parse(readFileSync(join(contextsDir, file), 'utf8'));
    return {contextUrl: null, documentUrl: url, document};
  }
  if(url.startsWith('did:key:')) {
    const document = await didKey.get({url});
    return {contextUrl: null, documentUrl: url, document};
  }
  if(Object.hasOwn(input.documents, url)) {
    return {contextUrl: null, documentUrl: url, document: input.documents[url]};
  }
  throw new Error(`offline: no document for ${url}`);
}

const suite = new DataIntegrityProof({cryptosuite: createVerifyCryptosuite()});

async function verify(credential) {
  const result = await vc.verifyCredential({
    credential, suite, documentLoader,
    checkStatus: options => checkStatus({...options, suite, documentLoader}),
  });
  const statuses = result.statusResult?.results ?? [];
  const revoked = statuses.some(r => r.status === true);
  const error = result.error ?
    (result.error.errors ?? [result.error]).map(e => e.message).join('; ') :
    (result.statusResult?.error?.message ?? null);
  return {verified: result.verified && !revoked, revoked, error};
}

async function expandSafely(credential) {
  try {
    await jsonld.expand(structuredClone(credential), {documentLoader, safe: true});
    return null;
  } catch(e) {
    return `${e.name}: ${e.message} ${JSON.stringify(e.details?.event?.details ?? {})}`;
  }
}

const out = {};
for(const [name, credential] of Object.entries(input.credentials)) {
  let verdict;
  try {
    verdict = await verify(credential);
  } catch(e) {
    verdict = {verified: false, revoked: false, error: e.message};
  }
  out[name] = {...verdict, expansionError: await expandSafely(credential)};
}
process.stdout.write(JSON.stringify(out, null, 1) + '\n');
