from dockyard.containerd.api.types import descriptor_pb2 as _descriptor_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SaveImage(_message.Message):
    __slots__ = ("name", "target")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    name: str
    target: _descriptor_pb2.Descriptor
    def __init__(self, name: _Optional[str] = ..., target: _Optional[_Union[_descriptor_pb2.Descriptor, _Mapping]] = ...) -> None: ...

class SaveRequest(_message.Message):
    __slots__ = ("images", "platform")
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    images: _containers.RepeatedCompositeFieldContainer[SaveImage]
    platform: str
    def __init__(self, images: _Optional[_Iterable[_Union[SaveImage, _Mapping]]] = ..., platform: _Optional[str] = ...) -> None: ...

class Chunk(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    def __init__(self, data: _Optional[bytes] = ...) -> None: ...

class LoadRequest(_message.Message):
    __slots__ = ("data", "base_name", "snapshotter")
    DATA_FIELD_NUMBER: _ClassVar[int]
    BASE_NAME_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOTTER_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    base_name: str
    snapshotter: str
    def __init__(self, data: _Optional[bytes] = ..., base_name: _Optional[str] = ..., snapshotter: _Optional[str] = ...) -> None: ...

class LoadedImage(_message.Message):
    __slots__ = ("name", "target", "config_digest", "diff_ids")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    CONFIG_DIGEST_FIELD_NUMBER: _ClassVar[int]
    DIFF_IDS_FIELD_NUMBER: _ClassVar[int]
    name: str
    target: _descriptor_pb2.Descriptor
    config_digest: str
    diff_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., target: _Optional[_Union[_descriptor_pb2.Descriptor, _Mapping]] = ..., config_digest: _Optional[str] = ..., diff_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class LoadResponse(_message.Message):
    __slots__ = ("images",)
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    images: _containers.RepeatedCompositeFieldContainer[LoadedImage]
    def __init__(self, images: _Optional[_Iterable[_Union[LoadedImage, _Mapping]]] = ...) -> None: ...

class LayerProgress(_message.Message):
    __slots__ = ("diff_id", "current", "total")
    DIFF_ID_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    diff_id: str
    current: int
    total: int
    def __init__(self, diff_id: _Optional[str] = ..., current: _Optional[int] = ..., total: _Optional[int] = ...) -> None: ...

class LoadEvent(_message.Message):
    __slots__ = ("layer", "done")
    LAYER_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    layer: LayerProgress
    done: LoadResponse
    def __init__(self, layer: _Optional[_Union[LayerProgress, _Mapping]] = ..., done: _Optional[_Union[LoadResponse, _Mapping]] = ...) -> None: ...

class ImportRequest(_message.Message):
    __slots__ = ("data", "config_json", "platform", "message", "source", "snapshotter")
    DATA_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOTTER_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    config_json: str
    platform: str
    message: str
    source: str
    snapshotter: str
    def __init__(self, data: _Optional[bytes] = ..., config_json: _Optional[str] = ..., platform: _Optional[str] = ..., message: _Optional[str] = ..., source: _Optional[str] = ..., snapshotter: _Optional[str] = ...) -> None: ...

class ImportResponse(_message.Message):
    __slots__ = ("target", "config_digest", "diff_id")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    CONFIG_DIGEST_FIELD_NUMBER: _ClassVar[int]
    DIFF_ID_FIELD_NUMBER: _ClassVar[int]
    target: _descriptor_pb2.Descriptor
    config_digest: str
    diff_id: str
    def __init__(self, target: _Optional[_Union[_descriptor_pb2.Descriptor, _Mapping]] = ..., config_digest: _Optional[str] = ..., diff_id: _Optional[str] = ...) -> None: ...
