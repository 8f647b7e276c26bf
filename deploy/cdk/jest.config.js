/** Jest runs the TypeScript tests through ts-jest; `tsc --noEmit` type-checks separately. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  setupFiles: ['<rootDir>/test/setup-env.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  // Each synth takes seconds; two workers match the two cores of our machines.
  maxWorkers: 2,
  testTimeout: 120000,
};
