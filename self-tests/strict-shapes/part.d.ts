// Test-only declarations for self-tests/run/strict-fields.test.ts: a type reached through an import.
export interface IPart {
  deep?: {
    deeper?: Array<{ leaf?: string }>;
  };
}
