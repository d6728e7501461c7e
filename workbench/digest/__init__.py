"""The e-mail digest: what waits for each person, sent by ``workbench digest send``."""
