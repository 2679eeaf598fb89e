/**
 * Preloaded into Azurite (`node --require`): makes its in-memory metadata store (LokiJS) look blobs
 * up by name through an index, as Azure Storage does, instead of scanning every blob of the account.
 *
 * Azurite finds a blob with `findOne({ accountName, containerName, name, snapshot })`. LokiJS turns
 * such a query into an `$and` of its properties and uses a binary index for the first one only
 * (`accountName`), then filters the rest one by one: each lookup costs as much as the account has
 * blobs, so a copy of N blobs from an account of N blobs costs N². This reorders the properties of
 * an equality query so that the most selective indexed one comes first. An `$and` does not depend on
 * the order of its terms, so every query returns the same documents; only the index used changes.
 */
'use strict';
const path = require('node:path');

/** Most selective first: a blob's name, a block's blob name, then container and account. */
const SELECTIVITY = ['name', 'blobName', 'queueName', 'containerName', 'accountName'];

const azurite = path.dirname(require.resolve('azurite/package.json'));
const Loki = require(require.resolve('lokijs', { paths: [azurite] }));
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
