"""Polish speech for infolinia: TTS engines, conversion for Asterisk, a
content-addressed cache of rendered prompts, and the prompt catalogue."""
