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
);
