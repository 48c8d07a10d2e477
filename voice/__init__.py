"""Polish speech for infolinia: what a caller hears, and how it is made.

* engines: the interface (``engine``), the three that ship (``espeak``,
  ``gtts_engine``, and ``neural``: a bank's Piper voice, offline; registered
  by ``builtin`` through the plugin hook), the
  hook's factory and registry (``hookspecs``, ``registry``), and chains of
  engines that rest a failing one (``chain``);
* rendering: conversion for Asterisk (``convert``) at one loudness
  (``loudness``), the content-addressed cache (``cache``), a tenant's
  prompt book (``prompts``), previews rendered beside the cache
  (``preview``), the shipped apology and the dialplan's fallback prompt
  (``apology``, ``fallback``);
* customer data: numbers, amounts and dates as Polish word fragments
  (``polish``), each cut to its speech and followed by a short pause so
  numbers flow (``fragments``; where speech is: ``pauses``), and a
  counterparty's name spoken live by an offline engine, never cached
  (``live``);
* a voice talent's recordings (``recording``): the upload's header checked
  in Python (``upload_check``), then decoded in a box (``upload_decode``).

What it may import (``devtools/architecture.py``): the plugin core
(:mod:`plugin`) and third-party libraries. It shares a layer with
``adapters`` (the rules would let it import them) but imports nothing of
them; never :mod:`stasis_app`.
"""
