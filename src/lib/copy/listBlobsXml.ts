import { SaxesParser } from 'saxes';
import { describeError } from '../redact.js';
import { isDirectoryStub, type ListedBlob } from './ListedBlob.js';

/** What a List Blobs answer holds, reduced to what copying and verifying need. */
export interface ParsedBlobList {
  blobs: ListedBlob[];
  /** Continuation token of the next page; undefined (or empty in the XML) on the last page. */
  nextMarker?: string;
}

/** A List Blobs answer that is not the XML the service documents. */
export class ListBlobsXmlError extends Error {
  override readonly name = 'ListBlobsXmlError';
}

/** The `Properties` children kept, by element name. */
const PROPERTIES = {
  'Content-Length': 'contentLength',
  'Content-MD5': 'contentMD5',
  'Content-Type': 'contentType',
  'Content-Encoding': 'contentEncoding',
  'Content-Language': 'contentLanguage',
  'Cache-Control': 'cacheControl',
  'Content-Disposition': 'contentDisposition',
  BlobType: 'blobType',
  'Last-Modified': 'lastModified',
} as const;
type Property = (typeof PROPERTIES)[keyof typeof PROPERTIES];

/**
 * Parses the body of a flat List Blobs answer (`restype=container&comp=list`), one pass of a
 * streaming XML parser and one object per blob. The SDK's generic deserialiser builds several
 * object trees per blob on the way (about 110 KB allocated per blob, 1.2 s of CPU per page of
 * 5,000); this reads only the elements a `ListedBlob` has, which takes about a tenth of the time.
 *
 * A name the service sent URL-encoded (`<Name Encoded="true">`, for characters XML cannot carry) is
 * decoded, as the SDK does.
 *
 * Every string in the result is a copy, not a slice of `xml`: V8 represents a substring as a view
 * into its parent, so one kept name would keep the whole answer (several MiB for a page of 5,000)
 * alive for as long as the page's manifest or its continuation token is held. Values that repeat
 * within a page (content types, metadata names and values) are copied once and shared.
 */
export function parseListBlobsXml(xml: string): ParsedBlobList {
  const parser = new SaxesParser();
  const blobs: ListedBlob[] = [];
  const shared = new Map<string, string>();
  const sharedCopy = (value: string): string => {
    let copy = shared.get(value);
    if (copy === undefined) {
      copy = detached(value);
      shared.set(copy, copy);
    }
    return copy;
  };
  let nextMarker: string | undefined;
  // Element names from the root to the current element.
  const path: string[] = [];
  let text = '';
  let nameEncoded = false;
  let blob:
    | { name?: string; properties: Partial<Record<Property, string>>; metadata: Record<string, string> }
    | undefined;

  // Lengths and dates are converted and dropped; hashes are unique; the rest repeats.
  const keptAs = (property: Property, value: string): string =>
    property === 'contentLength' || property === 'lastModified'
      ? value
      : property === 'contentMD5'
        ? detached(value)
        : sharedCopy(value);

  parser.on('opentag', (tag) => {
    path.push(tag.name);
    text = '';
    if (path.length === 3 && tag.name === 'Blob' && path[1] === 'Blobs') {
      blob = { properties: {}, metadata: {} };
    } else if (blob && path.length === 4 && tag.name === 'Name') {
      nameEncoded = String(tag.attributes.Encoded ?? '').toLowerCase() === 'true';
    }
  });
  parser.on('text', (chunk) => {
    text += chunk;
  });
  parser.on('closetag', (tag) => {
    const depth = path.length;
    if (depth === 2 && tag.name === 'NextMarker') {
      nextMarker = text ? detached(text) : undefined;
    } else if (blob && depth === 3 && tag.name === 'Blob') {
      blobs.push(toListedBlob(blob));
      blob = undefined;
    } else if (blob && depth === 4 && tag.name === 'Name') {
      blob.name = detached(nameEncoded ? decodeURIComponent(text) : text);
    } else if (blob && depth === 5 && path[3] === 'Properties' && tag.name in PROPERTIES) {
      const property = PROPERTIES[tag.name as keyof typeof PROPERTIES];
      if (text !== '') blob.properties[property] = keptAs(property, text);
    } else if (blob && depth === 5 && path[3] === 'Metadata') {
      blob.metadata[sharedCopy(tag.name)] = sharedCopy(text);
    }
    path.pop();
    text = '';
  });

  try {
    parser.write(xml).close();
  } catch (error) {
    throw new ListBlobsXmlError(`The List Blobs answer is not well-formed XML: ${describeError(error)}`);
  }
  if (path.length !== 0 || !xml.includes('<EnumerationResults')) {
    throw new ListBlobsXmlError('The List Blobs answer has no EnumerationResults element.');
  }
  return nextMarker !== undefined ? { blobs, nextMarker } : { blobs };
}

/**
 * A copy of `value` that does not refer to the string it was cut from. Concatenating makes a new
 * string and slicing it flattens that into fresh memory; the slice refers to the copy, one character
 * longer than `value` (V8 issue 2869; `Buffer` round trips do the same at about ten times the cost).
 */
function detached(value: string): string {
  return ` ${value}`.slice(1);
}

function toListedBlob(parsed: {
  name?: string;
  properties: Partial<Record<Property, string>>;
  metadata: Record<string, string>;
}): ListedBlob {
  const p = parsed.properties;
  if (parsed.name === undefined || parsed.name === '') {
    throw new ListBlobsXmlError('The List Blobs answer has a Blob without a Name.');
  }
  const contentLength = p.contentLength === undefined ? 0 : Number(p.contentLength);
  if (!Number.isSafeInteger(contentLength) || contentLength < 0) {
    throw new ListBlobsXmlError(
      `The List Blobs answer gives "${parsed.name}" the Content-Length "${p.contentLength}".`,
    );
  }
  const lastModified = p.lastModified === undefined ? undefined : new Date(p.lastModified);
  return {
    name: parsed.name,
    contentLength,
    ...(p.contentMD5 !== undefined ? { contentMD5: p.contentMD5 } : {}),
    ...(p.contentType !== undefined ? { contentType: p.contentType } : {}),
    ...(p.contentEncoding !== undefined ? { contentEncoding: p.contentEncoding } : {}),
    ...(p.contentLanguage !== undefined ? { contentLanguage: p.contentLanguage } : {}),
    ...(p.cacheControl !== undefined ? { cacheControl: p.cacheControl } : {}),
    ...(p.contentDisposition !== undefined ? { contentDisposition: p.contentDisposition } : {}),
    ...(p.blobType !== undefined ? { blobType: p.blobType } : {}),
    ...(lastModified && !Number.isNaN(lastModified.getTime()) ? { lastModified } : {}),
    metadata: parsed.metadata,
    isDirectoryStub: isDirectoryStub(parsed.metadata, contentLength),
  };
}
