// Public surface of the PostgreSQL statement classifier (docs/sql-taxonomy.md).
// Import from here; the other files in this folder are its internals.
export {
  createPostgresClassifier,
  type PostgresClassifier,
  type PostgresClassifierOptions,
} from './postgres-classifier.js';
export { MEANING_SETTINGS, meaningSettings } from './setting-risks.js';
