"""Talking to the Coveo platform: deploy an extension, its vault entries, and test it in Coveo.

The harness exists so that a script is right before it is deployed; this subpackage is the step
after that, without leaving the tool.  It is layered like the rest of the harness:

* :mod:`~harness.platform.settings`: which organization, which host, which API key;
* :mod:`~harness.platform.client`: one HTTP session (Bearer auth, retries, one-line errors,
  never a secret in a message);
* :mod:`~harness.platform.extensions` and :mod:`~harness.platform.vault_entries`: the Extension
  and Vault API calls, in the shapes of Coveo's OpenAPI documents;
* :mod:`~harness.platform.folder`: the local extension folder as push (the new id) and pull
  (a new folder) change it;
* :mod:`~harness.platform.remote_test`: the same document run locally and by Coveo's Test API,
  compared field by field.

Nothing here imports :mod:`harness.cli`; the ``ipe push/pull/vault push/remote-test`` commands
are thin adapters in :mod:`harness.cli.platform`.
"""
