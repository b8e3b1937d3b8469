// Lint: typescript-eslint with type-aware rules (floating and misused promises matter in a proxy),
// plus the layer boundaries from DESIGN.md, enforced so they hold without anyone remembering them.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const layer = (files, forbidden, why) => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      { patterns: forbidden.map((group) => ({ group: [group], message: why })) },
    ],
  },
});

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      'coverage/**',
      '.gatehouse/**',
      '.tmp/**',
      'gatehouse.schema.json',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: [
            'eslint.config.js',
            'bin/gatehouse.js',
            'bench/without-record.mjs',
            'bench/store-instructions.mjs',
            'bench/bare-relay.mjs',
            'src/console/assets/*.js',
          ],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-empty-object-type': 'off',
    },
  },
  // Layer boundaries (DESIGN.md "Dependency direction").
  layer(
    ['src/core/**'],
    ['../*', '!../core/*', 'node:net', 'node:tls', 'node:fs*'],
    'core holds domain types and ports only: no I/O and no other layer',
  ),
  layer(
    ['src/wire/**', 'src/sql/**', 'src/shell/**', 'src/masking/**', 'src/policy/**'],
    ['**/engines/**', '**/gate/**', '**/store/**', '**/api/**', '**/main.js', 'node:net', 'node:tls'],
    'pure layers import only core',
  ),
  layer(
    ['src/engines/**'],
    [
      '**/store/**',
      '**/api/**',
      '**/main.js',
      '**/identity/**',
      '**/policy/**',
      '**/approvals/**',
      '**/recording/**',
      '**/mcp/**',
      '**/tunnel/**',
    ],
    'engines import core, wire, sql, masking and the gate port only',
  ),
  layer(
    ['src/console/**'],
    ['**/engines/**', '**/gate/**', '**/main.js', 'node:net', 'node:tls'],
    'the console reaches sessions and the gate through the ports main.ts wires',
  ),
  layer(
    ['src/tunnel/**'],
    [
      '**/engines/**',
      '**/gate/**',
      '**/store/**',
      '**/api/**',
      '**/main.js',
      '**/policy/**',
      '**/approvals/**',
      '**/recording/**',
      '**/mcp/**',
    ],
    'the tunnel imports core, config and secrets only; engines reach it through the UpstreamDialer port',
  ),
  layer(
    ['src/telemetry/**'],
    [
      '**/engines/**',
      '**/store/**',
      '**/api/**',
      '**/main.js',
      '**/gate/**',
      '**/identity/**',
      '**/policy/**',
      '**/approvals/**',
      '**/recording/**',
    ],
    'telemetry implements the metric and tracing ports of core; it imports core only',
  ),
  layer(
    ['src/gate/**'],
    ['**/engines/**', '**/store/**', '**/api/**', '**/main.js'],
    'the gate never imports an engine or a concrete store',
  ),
  {
    files: ['test/**', 'bench/**', 'scripts/**', '**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    // The console's browser scripts (plain JS, served as they are).
    files: ['src/console/assets/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: {
        document: 'readonly',
        location: 'readonly',
        fetch: 'readonly',
        DOMParser: 'readonly',
        EventSource: 'readonly',
        performance: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
      },
    },
  },
);
