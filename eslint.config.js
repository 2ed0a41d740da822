import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.peers/', 'bench/results/', 'dist/', '**/*.py', '**/*_pb.ts'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        { object: 'describe', property: 'only', message: 'focused tests hide the rest' },
        { object: 'it', property: 'only', message: 'focused tests hide the rest' },
        { object: 'test', property: 'only', message: 'focused tests hide the rest' },
      ],
    },
  },
  {
    // apache-arrow's internals are imported in one adapter only (package.json pins the version).
    ignores: ['flight/arrow-internals.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['apache-arrow/*'], message: 'import it through flight/arrow-internals.ts' }] },
      ],
    },
  },
);
