"""The names of the signature fields this service's seals go in (no signing code here, so
the verification child can name them without loading the sealer)."""

#: A license's (or a report's) own seal: the certification signature.
SEAL_FIELD = "Seal"
#: The service's seal over a purpose note after a license's seal (加注件,
#: ``verification.annotated_copy``): an approval signature.
NOTE_FIELD = "PurposeNote"
