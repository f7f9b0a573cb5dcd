"""Training prompts: data sources and synthetic tasks (`loading`), the prompt-template engine that
training and eval share (`templates`), and the chat prompts built from rows (`prompts`)."""
