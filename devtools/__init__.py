"""Developer tools, never imported by the running app (``infolinia run``):

* ``sandbox``: a real Asterisk 22 on this machine (a Debian unstable root,
  run with chroot), and ``apt_sources``, this machine's Debian mirror for it;
* ``simulator``: real calls through Asterisk, with a transcript;
* ``cluster``, ``cluster_node``, ``kamailio``: a cluster on this machine,
  our own Kamailio in front of several Asterisk nodes with one app each;
* ``postgres``: a private PostgreSQL 15 for development, tests and the
  cluster (``python -m devtools.postgres up|down|status``);
* ``architecture``: the check of the house's layers, and their picture
  (``python -m devtools.architecture``).

The command line loads them only when a command that needs them runs (an
import inside the command's function): ``infolinia sandbox`` (``sandbox``),
``infolinia call`` (``simulator``), ``infolinia cluster`` (``cluster``,
``sandbox``). They share the top layer with :mod:`stasis_app.cli`
(``devtools/architecture.py``), so nothing below may import them; they may
import any package of the app (the simulator reads
:mod:`stasis_app.config`, the sandbox raises :mod:`stasis_app.errors`), but
never aioari: the simulator speaks plain ARI over aiohttp.
"""
