"""The AWS wire protocols, driven by botocore's service models.

Request side (``operations``, ``parsers``): find the wire protocol and operation of an HTTP request,
then turn it into the operation's input dict (member names of the model, Python values:
datetime for timestamps, bytes for blobs, ``BodyStream`` for streaming payloads).

Response side (``serializers``): turn an output dict or a ``ServiceError`` into an
``HttpResponse`` that botocore's own response parser reads back to the same values.

Protocols: query, ec2, json, rest-json, rest-xml, smithy-rpc-v2-cbor.
"""
