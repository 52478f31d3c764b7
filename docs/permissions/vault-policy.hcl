# keyproof reader policy for a HashiCorp Vault / OpenBao source: read-only, no key material.
# Replace `transit` with each transit mount keyproof collects (one pair of paths per mount).
# Create it with: vault policy write keyproof-reader docs/permissions/vault-policy.hcl

# Which mounts exist and which of them are transit mounts.
path "sys/mounts" {
  capabilities = ["read"]
}

# Transit keys: their names, then each key's configuration (versions, rotation period, type, exportable).
path "transit/keys" {
  capabilities = ["list"]
}
path "transit/keys/*" {
  capabilities = ["read"]
}

# ACL policies: which tokens may use which key.
path "sys/policies/acl" {
  capabilities = ["list"]
}
path "sys/policies/acl/*" {
  capabilities = ["read"]
}

# Audit devices (root namespace). Vault requires sudo to read sys/audit.
path "sys/audit" {
  capabilities = ["read", "sudo"]
}

# Child namespaces (`namespaces: all` only): list them here. The walk also needs this policy's reads in each
# namespace it collects: write the policy in each namespace, or here with child paths (`+/sys/mounts`,
# `+/transit/keys/*`, `+/sys/namespaces`...). A namespace the token cannot read is a gap of the run.
# A token living in a child namespace can never read the root's sys/audit; keyproof reports that as a warn
# (not an error) when the token may look itself up (auth/token/lookup-self, in the `default` policy).
path "sys/namespaces" {
  capabilities = ["list"]
}
