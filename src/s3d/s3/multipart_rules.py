"""S3's rules for CompleteMultipartUpload: which parts make the object, its ETag and its checksum."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from s3d.s3 import checksums
from s3d.s3.errors import S3Error
from s3d.store.multipart import MIN_PART_SIZE
from s3d.store.objects import Part
from s3d.store.uploads import StoredPart, Upload


@dataclass(slots=True)
class CompletedPart:
    """One entry of a CompleteMultipartUpload request."""

    number: int
    etag: str
    checksums: dict[str, str]  # algorithm -> value the client listed


def assemble(upload: Upload, stored: dict[int, StoredPart], listed: list[CompletedPart]) -> list[Part]:
    """Check a CompleteMultipartUpload part list against what was uploaded, as S3 does."""
    if not listed:
        raise S3Error("MalformedXML", "You must specify at least one part")
    numbers = [c.number for c in listed]
    if any(b <= a for a, b in zip(numbers, numbers[1:], strict=False)):
        raise S3Error("InvalidPartOrder")
    parts: list[Part] = []
    algo = upload.meta.get("checksum_algorithm")
    composite = upload.meta.get("checksum_type") == checksums.COMPOSITE
    for i, c in enumerate(listed):
        sp = stored.get(c.number)
        if sp is None or sp.etag != c.etag.strip().strip('"'):
            raise S3Error(
                "InvalidPart", extra={"UploadId": upload.upload_id, "PartNumber": str(c.number), "ETag": c.etag}
            )
        for a, v in c.checksums.items():
            have = sp.checksum.get("value") if sp.checksum and sp.checksum.get("algorithm") == a else None
            if have is not None and have != v:
                raise S3Error("InvalidPart", f"The {a.lower()} checksum of part {c.number} does not match.")
        if algo and composite and algo not in c.checksums:
            raise S3Error(
                "InvalidRequest",
                f"The upload was created using a {algo.lower()} checksum. The complete request must include the "
                f"checksum for each part. It was missing for part {c.number} in the request.",
            )
        if algo and (sp.checksum is None or sp.checksum.get("algorithm") != algo):
            raise S3Error(
                "InvalidRequest", f"The upload was created using a {algo.lower()} checksum. Part {c.number} has none."
            )
        if i < len(listed) - 1 and sp.size < MIN_PART_SIZE:
            raise S3Error(
                "EntityTooSmall",
                extra={"ProposedSize": str(sp.size), "MinSizeAllowed": str(MIN_PART_SIZE), "PartNumber": str(c.number)},
            )
        parts.append(Part(sp.number, sp.size, sp.etag, sp.blob, sp.checksum))
    return parts


def multipart_etag(parts: list[Part]) -> str:
    md5 = hashlib.md5()
    for p in parts:
        md5.update(bytes.fromhex(p.etag))
    return f"{md5.hexdigest()}-{len(parts)}"


def object_checksum(upload: Upload, parts: list[Part]) -> dict[str, str] | None:
    algo = upload.meta.get("checksum_algorithm")
    ctype = upload.meta.get("checksum_type") or (
        checksums.FULL_OBJECT if algo in checksums.FULL_OBJECT_ONLY else checksums.COMPOSITE
    )
    if algo is None:
        # no algorithm asked for: S3's default, a full-object CRC64NVME, when every part has one
        if parts and all(p.checksum and p.checksum.get("algorithm") == "CRC64NVME" for p in parts):
            algo, ctype = "CRC64NVME", "FULL_OBJECT"
        else:
            return None
    values = [p.checksum["value"] for p in parts if p.checksum]
    if len(values) != len(parts):
        return None
    if ctype == checksums.FULL_OBJECT:
        value = checksums.combine_crc(algo, [(v, p.size) for v, p in zip(values, parts, strict=True)])
    else:
        value = checksums.composite(algo, values)
    return {"algorithm": algo, "value": value, "type": ctype}
