'use strict';

class ImportError extends Error {}

const ID_RE = /^LC-\d+$/;

function validate(record, row) {
  if (!record || typeof record !== 'object') throw new ImportError(`row ${row}: not an object`);
  if (!ID_RE.test(record.id ?? '')) throw new ImportError(`row ${row}: bad id ${JSON.stringify(record.id)}`);
  if (typeof record.email !== 'string' || !record.email.includes('@')) throw new ImportError(`row ${row}: bad email`);
  return { id: record.id, email: record.email.trim().toLowerCase(), name: String(record.name ?? '').trim(), updatedAt: record.updatedAt };
}

// The export's records by id. Ids are unique in the legacy CRM, so a repeated id means the
// export itself is broken.
function indexById(records) {
  const byId = new Map();
  records.forEach((raw, index) => {
    const record = validate(raw, index + 1);
    const seen = byId.get(record.id);
    if (seen) {
      throw new Error(`duplicate customer id ${record.id} in the export (rows ${seen.row} and ${index + 1})`);
    }
    byId.set(record.id, { record, row: index + 1 });
  });
  return byId;
}

function importRecords(body, store) {
  if (!Array.isArray(body.records)) throw new ImportError('records must be a list');
  const byId = indexById(body.records);
  const counts = { created: 0, updated: 0 };
  for (const { record } of byId.values()) counts[store.upsert(record)] += 1;
  console.info(`legacy-crm export ${body.exportedAt}: ${counts.created} created, ${counts.updated} updated`);
  return counts;
}

module.exports = { ImportError, importRecords, indexById };
