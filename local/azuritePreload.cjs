/**
 * Preloaded into Azurite (`node --require`): two fixes to the cost of its in-memory stores, so that
 * the local stack's storage scales with the number of blobs as Azure's does. Neither changes what
 * Azurite answers; `test/local/azuritePreload.test.ts` checks both.
 *
 * 1. Indexed lookups. Azurite finds a blob with `findOne({ accountName, containerName, name,
 *    snapshot })`. LokiJS turns such a query into an `$and` of its properties and uses a binary
 *    index for the first one only (`accountName`), then filters the rest one by one: each lookup
 *    costs as much as the account has blobs, so a copy of N blobs from an account of N blobs costs
 *    N². The properties of an equality query are reordered so that the most selective indexed one
 *    comes first. An `$and` does not depend on the order of its terms, so every query returns the
 *    same documents; only the index used changes.
 * 2. Garbage collection in one batch. Every 10 minutes Azurite deletes the extents no blob refers to
 *    any more, one `findAndRemove` per extent, each rebuilding the collection and its index: N²
 *    again, which stalls Azurite for minutes once a few hundred thousand extents are garbage. The
 *    in-memory extent store deletes them with one batch removal instead.
 *
 * Both patch internals of one Azurite and one LokiJS, recorded in `azuritePreload.json` (the versions,
 * and a SHA-256 of each source file whose code or indices the patches rely on). The preload refuses
 * to run on other versions, and `test/local/azuritePreload.unit.test.ts` fails when an installed
 * source file differs from its checksum. To upgrade Azurite: read the patches against the new
 * sources, adapt them, then record the new versions and checksums (the test prints them).
 */
'use strict';
const path = require('node:path');
const writtenFor = require('./azuritePreload.json');

/** Most selective first: a blob's name, a block's blob name, then container and account. */
const SELECTIVITY = ['name', 'blobName', 'queueName', 'containerName', 'accountName'];

const PATCH = 'local/azuritePreload.cjs';

/** Throws, saying what to do, unless Azurite and LokiJS are the versions the patches were written for. */
function refuseOtherVersions(installed) {
  const differing = ['azurite', 'lokijs'].filter((name) => installed[name] !== writtenFor[name]);
  if (differing.length === 0) return;
  throw new Error(
    `${PATCH} patches internals of Azurite ${writtenFor.azurite} with LokiJS ${writtenFor.lokijs}, ` +
      `but Azurite ${installed.azurite} with LokiJS ${installed.lokijs} is installed. ` +
      'Install the versions pinned in package.json (npm ci), or read the patches against the new ' +
      'sources and record the new versions and checksums in local/azuritePreload.json.',
  );
}

function expectMethod(owner, method, what) {
  if (typeof owner?.prototype?.[method] !== 'function') {
    throw new Error(`${PATCH} wraps ${what}.prototype.${method}; it is not there in the installed version.`);
  }
}

const azurite = path.dirname(require.resolve('azurite/package.json'));
const lokiEntry = require.resolve('lokijs', { paths: [azurite] });
refuseOtherVersions({
  azurite: require(path.join(azurite, 'package.json')).version,
  lokijs: require(path.join(path.dirname(lokiEntry), '..', 'package.json')).version,
});
const Loki = require(lokiEntry);
const persistence = path.join(azurite, 'dist/src/common/persistence');
const MemoryExtentStore = require(path.join(persistence, 'MemoryExtentStore.js')).default;
const LokiExtentMetadata = require(path.join(persistence, 'LokiExtentMetadataStore.js')).default;
expectMethod(Loki.Resultset, 'find', 'LokiJS Resultset');
expectMethod(MemoryExtentStore, 'deleteExtents', "Azurite's MemoryExtentStore");
if (typeof LokiExtentMetadata !== 'function') {
  throw new Error(`${PATCH} expects Azurite's LokiExtentMetadataStore class; it is not there.`);
}
const find = Loki.Resultset.prototype.find;

Loki.Resultset.prototype.find = function findWithSelectiveIndex(query, firstOnly) {
  if (!this.filterInitialized && isPlainEqualityQuery(query)) {
    const indices = this.collection.binaryIndices;
    const first = SELECTIVITY.find((key) => key in query && indices[key] && isScalar(query[key]));
    if (first !== undefined && Object.keys(query)[0] !== first) {
      const { [first]: value, ...rest } = query;
      return find.call(this, { [first]: value, ...rest }, firstOnly);
    }
  }
  return find.call(this, query, firstOnly);
};

function isPlainEqualityQuery(query) {
  if (query === null || typeof query !== 'object' || Array.isArray(query)) return false;
  const keys = Object.keys(query);
  return keys.length > 1 && !keys.some((key) => key.startsWith('$'));
}

function isScalar(value) {
  return typeof value === 'string' || typeof value === 'number';
}

const deleteExtentsOneByOne = MemoryExtentStore.prototype.deleteExtents;

MemoryExtentStore.prototype.deleteExtents = async function deleteExtentsInOneBatch(extents) {
  const metadata = this.metadataStore;
  if (!(metadata instanceof LokiExtentMetadata)) return deleteExtentsOneByOne.call(this, extents);
  const ids = new Set(extents);
  for (const id of ids) this.chunks.delete(this.categoryName, id);
  metadata.db
    .getCollection(metadata.EXTENTS_COLLECTION)
    .chain()
    .where((doc) => ids.has(doc.id))
    .remove();
  return ids.size;
};
