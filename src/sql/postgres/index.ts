// Public surface of the PostgreSQL statement classifier (docs/sql-taxonomy.md).
// Import from here; the other files in this folder are its internals.
import { createLineageAnalyzer, type LineageAnalyzer } from './column-lineage.js';
import { sharedParserRuntime } from './postgres-classifier.js';

export {
  createPostgresClassifier,
  type PostgresClassifier,
  type PostgresClassifierOptions,
} from './postgres-classifier.js';
export { MEANING_SETTINGS, isMeaningSetting, meaningSettings } from './setting-risks.js';
export {
  createLineageAnalyzer,
  type CatalogNeeds,
  type CatalogRelation,
  type CatalogRoutines,
  type LineageAnalyzer,
  type LineageCatalog,
} from './column-lineage.js';

/** A lineage analyzer over the shared parser runtime. */
export async function createPostgresLineageAnalyzer(): Promise<LineageAnalyzer> {
  return createLineageAnalyzer(await sharedParserRuntime());
}
