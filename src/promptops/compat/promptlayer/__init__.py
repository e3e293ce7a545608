"""PromptLayer: prompt blueprints (:mod:`.blueprint`) and webhook envelopes (:mod:`.webhooks`)."""
