from dockyard.containerd.api.types import descriptor_pb2 as _descriptor_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RegistryAuth(_message.Message):
    __slots__ = ("username", "password", "identity_token", "registry_token")
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REGISTRY_TOKEN_FIELD_NUMBER: _ClassVar[int]
    username: str
    password: str
    identity_token: str
    registry_token: str
    def __init__(self, username: _Optional[str] = ..., password: _Optional[str] = ..., identity_token: _Optional[str] = ..., registry_token: _Optional[str] = ...) -> None: ...

class PullRequest(_message.Message):
    __slots__ = ("reference", "platform", "unpack", "snapshotter", "plain_http", "auth", "labels")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    UNPACK_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOTTER_FIELD_NUMBER: _ClassVar[int]
    PLAIN_HTTP_FIELD_NUMBER: _ClassVar[int]
    AUTH_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    reference: str
    platform: str
    unpack: bool
    snapshotter: str
    plain_http: bool
    auth: RegistryAuth
    labels: _containers.ScalarMap[str, str]
    def __init__(self, reference: _Optional[str] = ..., platform: _Optional[str] = ..., unpack: _Optional[bool] = ..., snapshotter: _Optional[str] = ..., plain_http: _Optional[bool] = ..., auth: _Optional[_Union[RegistryAuth, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class PushRequest(_message.Message):
    __slots__ = ("name", "reference", "platform", "plain_http", "auth")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    PLAIN_HTTP_FIELD_NUMBER: _ClassVar[int]
    AUTH_FIELD_NUMBER: _ClassVar[int]
    name: str
    reference: str
    platform: str
    plain_http: bool
    auth: RegistryAuth
    def __init__(self, name: _Optional[str] = ..., reference: _Optional[str] = ..., platform: _Optional[str] = ..., plain_http: _Optional[bool] = ..., auth: _Optional[_Union[RegistryAuth, _Mapping]] = ...) -> None: ...

class Progress(_message.Message):
    __slots__ = ("stage", "blob", "pulled", "pushed")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    BLOB_FIELD_NUMBER: _ClassVar[int]
    PULLED_FIELD_NUMBER: _ClassVar[int]
    PUSHED_FIELD_NUMBER: _ClassVar[int]
    stage: Stage
    blob: Blob
    pulled: Pulled
    pushed: Pushed
    def __init__(self, stage: _Optional[_Union[Stage, _Mapping]] = ..., blob: _Optional[_Union[Blob, _Mapping]] = ..., pulled: _Optional[_Union[Pulled, _Mapping]] = ..., pushed: _Optional[_Union[Pushed, _Mapping]] = ...) -> None: ...

class Stage(_message.Message):
    __slots__ = ("action", "reference", "repository", "tag")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    REPOSITORY_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    action: str
    reference: str
    repository: str
    tag: str
    def __init__(self, action: _Optional[str] = ..., reference: _Optional[str] = ..., repository: _Optional[str] = ..., tag: _Optional[str] = ...) -> None: ...

class Blob(_message.Message):
    __slots__ = ("id", "desc", "action", "offset", "total", "status", "mounted_from")
    ID_FIELD_NUMBER: _ClassVar[int]
    DESC_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    MOUNTED_FROM_FIELD_NUMBER: _ClassVar[int]
    id: str
    desc: _descriptor_pb2.Descriptor
    action: str
    offset: int
    total: int
    status: str
    mounted_from: str
    def __init__(self, id: _Optional[str] = ..., desc: _Optional[_Union[_descriptor_pb2.Descriptor, _Mapping]] = ..., action: _Optional[str] = ..., offset: _Optional[int] = ..., total: _Optional[int] = ..., status: _Optional[str] = ..., mounted_from: _Optional[str] = ...) -> None: ...

class Pulled(_message.Message):
    __slots__ = ("name", "target", "manifest", "config", "platform", "previous_digest", "created", "snapshotter", "chain_ids", "labels")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_DIGEST_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOTTER_FIELD_NUMBER: _ClassVar[int]
    CHAIN_IDS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    name: str
    target: _descriptor_pb2.Descriptor
    manifest: _descriptor_pb2.Descriptor
    config: _descriptor_pb2.Descriptor
    platform: str
    previous_digest: str
    created: bool
    snapshotter: str
    chain_ids: _containers.RepeatedScalarFieldContainer[str]
    labels: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., target: _Optional[_Union[_descriptor_pb2.Descriptor, _Mapping]] = ..., manifest: _Optional[_Union[_descriptor_pb2.Descriptor, _Mapping]] = ..., config: _Optional[_Union[_descriptor_pb2.Descriptor, _Mapping]] = ..., platform: _Optional[str] = ..., previous_digest: _Optional[str] = ..., created: _Optional[bool] = ..., snapshotter: _Optional[str] = ..., chain_ids: _Optional[_Iterable[str]] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Pushed(_message.Message):
    __slots__ = ("reference", "target", "pushed", "mounted", "existing", "skipped")
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    PUSHED_FIELD_NUMBER: _ClassVar[int]
    MOUNTED_FIELD_NUMBER: _ClassVar[int]
    EXISTING_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    reference: str
    target: _descriptor_pb2.Descriptor
    pushed: _containers.RepeatedScalarFieldContainer[str]
    mounted: _containers.RepeatedScalarFieldContainer[str]
    existing: _containers.RepeatedScalarFieldContainer[str]
    skipped: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, reference: _Optional[str] = ..., target: _Optional[_Union[_descriptor_pb2.Descriptor, _Mapping]] = ..., pushed: _Optional[_Iterable[str]] = ..., mounted: _Optional[_Iterable[str]] = ..., existing: _Optional[_Iterable[str]] = ..., skipped: _Optional[_Iterable[str]] = ...) -> None: ...
