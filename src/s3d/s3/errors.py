"""S3 error codes, their HTTP status and default messages (from the AWS S3 API reference)."""

from __future__ import annotations

ERRORS: dict[str, tuple[int, str]] = {
    "AccessDenied": (403, "Access Denied"),
    "AuthorizationHeaderMalformed": (400, "The authorization header is malformed."),
    "AuthorizationQueryParametersError": (400, "Error parsing the X-Amz-Credential parameter."),
    "BadRequest": (400, "Bad Request"),
    "BadDigest": (400, "The Content-MD5 or checksum value that you specified did not match what the server received."),
    "BucketAlreadyExists": (409, "The requested bucket name is not available."),
    "BucketAlreadyOwnedByYou": (409, "Your previous request to create the named bucket succeeded and you already own it."),
    "BucketNotEmpty": (409, "The bucket that you tried to delete is not empty."),
    "EntityTooLarge": (400, "Your proposed upload exceeds the maximum allowed object size."),
    "EntityTooSmall": (400, "Your proposed upload is smaller than the minimum allowed object size."),
    "IncompleteBody": (400, "You did not provide the number of bytes specified by the Content-Length HTTP header."),
    "InsufficientStorage": (507, "Insufficient storage space to complete the request."),
    "InternalError": (500, "We encountered an internal error. Please try again."),
    "InvalidAccessKeyId": (403, "The AWS access key ID that you provided does not exist in our records."),
    "InvalidArgument": (400, "Invalid Argument"),
    "InvalidBucketName": (400, "The specified bucket is not valid."),
    "InvalidDigest": (400, "The Content-MD5 or checksum value that you specified is not valid."),
    "InvalidLocationConstraint": (400, "The specified location constraint is not valid."),
    "InvalidPart": (400, "One or more of the specified parts could not be found."),
    "InvalidPartOrder": (400, "The list of parts was not in ascending order."),
    "InvalidPartNumber": (416, "The requested partnumber is not satisfiable"),
    "InvalidRange": (416, "The requested range is not satisfiable"),
    "InvalidRequest": (400, "Invalid Request"),
    "InvalidStorageClass": (400, "The storage class you specified is not valid."),
    "InvalidURI": (400, "Couldn't parse the specified URI."),
    "InvalidTag": (400, "The tag provided was not a valid tag."),
    "KeyTooLongError": (400, "Your key is too long."),
    "MalformedXML": (400, "The XML you provided was not well-formed or did not validate against our published schema."),
    "MalformedTrailerError": (400, "The request contained trailing data that was not well-formed or did not conform to our published schema."),
    "MalformedPOSTRequest": (400, "The body of your POST request is not well-formed multipart/form-data."),
    "MaxMessageLengthExceeded": (400, "Your request was too big."),
    "MetadataTooLarge": (400, "Your metadata headers exceed the maximum allowed metadata size."),
    "MethodNotAllowed": (405, "The specified method is not allowed against this resource."),
    "MissingContentLength": (411, "You must provide the Content-Length HTTP header."),
    "MissingSecurityHeader": (400, "Your request is missing a required header."),
    "NoSuchBucket": (404, "The specified bucket does not exist."),
    "NoSuchKey": (404, "The specified key does not exist."),
    "NoSuchUpload": (404, "The specified multipart upload does not exist."),
    "NoSuchVersion": (404, "The specified version does not exist."),
    "IllegalVersioningConfigurationException": (400, "The versioning configuration specified in the request is invalid."),
    "InvalidBucketState": (409, "The request is not valid with the current state of the bucket."),
    "ObjectLockConfigurationNotFoundError": (404, "Object Lock configuration does not exist for this bucket"),
    "NoSuchObjectLockConfiguration": (404, "The specified object does not have a ObjectLock configuration"),
    "NoSuchLifecycleConfiguration": (404, "The lifecycle configuration does not exist."),
    "NoSuchTagSet": (404, "The TagSet does not exist."),
    "NoSuchCORSConfiguration": (404, "The CORS configuration does not exist."),
    "NotImplemented": (501, "A header or query you provided implies functionality that is not implemented."),
    "NotModified": (304, "Not Modified"),
    "PreconditionFailed": (412, "At least one of the preconditions you specified did not hold."),
    "RequestHeaderSectionTooLarge": (400, "Your request header section exceeds the maximum allowed size."),
    "RequestTimeTooSkewed": (403, "The difference between the request time and the server's time is too large."),
    "SignatureDoesNotMatch": (403, "The request signature we calculated does not match the signature you provided. Check your key and signing method."),
    "ServiceUnavailable": (503, "Service is unable to handle request."),
    "SlowDown": (503, "Please reduce your request rate."),
    "XAmzContentSHA256Mismatch": (400, "The provided 'x-amz-content-sha256' header does not match what was computed."),
    "ConditionalRequestConflict": (409, "A conflicting operation occurred."),
}  # fmt: skip


class S3Error(Exception):
    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        status: int | None = None,
        resource: str = "",
        extra: dict[str, str] | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        default_status, default_message = ERRORS.get(code, (400, code))
        self.code = code
        self.message = message or default_message
        self.status = status or default_status
        self.resource = resource
        self.extra = extra or {}
        self.headers = headers or []
        super().__init__(f"{code}: {self.message}")
