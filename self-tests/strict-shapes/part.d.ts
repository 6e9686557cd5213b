// Test-only declarations for self-tests/strict-fields.test.ts: a type reached through an import.
export interface IPart {
  deep?: {
    deeper?: Array<{ leaf?: string }>;
  };
}
