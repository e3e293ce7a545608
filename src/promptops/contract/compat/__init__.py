"""Wire shapes of the compatibility APIs (other products' formats PromptOps also speaks)."""
