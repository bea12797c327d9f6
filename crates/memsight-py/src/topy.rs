//! One generic bridge from memsight's records (which derive `serde::Serialize`) to Python
//! objects, in place of a hand-written conversion per record.
//!
//! Numbers, strings, `None`, lists and dicts map as JSON would. A struct becomes an instance of
//! the named tuple `memsight/__init__.py` registered for it with [`register`] (psutil's `pmem`,
//! `svmem`, ...): the tuple's fields are filled by name, in the tuple's own order, so psutil's
//! field order holds whatever the Rust declaration order. When several tuples are registered for
//! one Rust struct, the one with the most fields that the record all has wins (a grouped
//! `MemoryMap` has no `addr`/`perms`, so it becomes `pmmap_grouped`, an ungrouped one
//! `pmmap_ext`); fields psutil lacks are dropped. A struct with no registered tuple becomes a
//! dict. A unit enum variant becomes its serde name (`"sleeping"`), a tuple a tuple.
//!
//! Bytes from the kernel that may not be UTF-8 (paths, names, arguments, environment) become
//! `str` exactly as psutil makes them, `os.fsdecode` (the filesystem encoding with
//! surrogateescape), so they round-trip to the OS: an [`Fs`] value (serialized as bytes), and a
//! record's `KEY_bytes` field (memsight's rule for a `KEY` that is not UTF-8: its exact bytes),
//! which replaces `KEY`'s lossy string.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::sync::Mutex;

use pyo3::IntoPyObjectExt;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyDict, PyList, PyTuple, PyType};
use serde::ser::{self, Serialize};

/// A registered named tuple: the Rust struct it stands for, its fields, its class.
struct Entry {
    rust_name: String,
    fields: Vec<String>,
    class: Py<PyType>,
}

/// Every registered named tuple (a few dozen: a linear scan is faster than hashing).
static TYPES: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

/// `tuple.__new__`: builds a named tuple from a tuple of values without a Python-level call.
static TUPLE_NEW: GILOnceCell<PyObject> = GILOnceCell::new();

/// `_native.register_type(rust_name, cls)`: instances of the Rust struct `rust_name` become
/// instances of the named tuple class `cls` (its fields filled by name from `cls._fields`).
#[pyfunction]
pub fn register_type(rust_name: String, cls: Bound<'_, PyType>) -> PyResult<()> {
    let fields: Vec<String> = cls.getattr("_fields")?.extract()?;
    let mut types = TYPES.lock().unwrap_or_else(|e| e.into_inner());
    types.retain(|e| !(e.rust_name == rust_name && e.fields == fields));
    types.push(Entry {
        rust_name,
        fields,
        class: cls.unbind(),
    });
    Ok(())
}

/// Bytes from the kernel, made a `str` by `os.fsdecode`'s rule (see the module doc).
pub struct Fs(pub OsString);

impl Serialize for Fs {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0.as_bytes())
    }
}

/// A map of [`Fs`] keys and values (`environ`): a dict of `str`.
pub struct FsMap(pub BTreeMap<OsString, OsString>);

impl Serialize for FsMap {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(&Fs(k.clone()), &Fs(v.clone()))?;
        }
        map.end()
    }
}

/// `os.fsdecode(bytes)`: the filesystem encoding with surrogateescape (what PyO3 does for an
/// `OsStr` on Unix).
fn fsdecode(py: Python<'_>, bytes: &[u8]) -> Out {
    Ok(OsStr::from_bytes(bytes).into_py_any(py)?)
}

/// The `str` form of a `KEY_bytes` value: a list of byte values (a string), a list of those
/// (`cmdline`), or a list of `[key, value]` pairs of those (`environ`, a dict).
fn decode_exact(py: Python<'_>, value: &Bound<'_, PyAny>) -> Out {
    if let Ok(bytes) = value.extract::<Vec<u8>>() {
        return fsdecode(py, &bytes);
    }
    if let Ok(list) = value.extract::<Vec<Vec<u8>>>() {
        let items = list
            .iter()
            .map(|b| fsdecode(py, b))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(PyList::new(py, items)?.into_any().unbind());
    }
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = value.extract()?;
    let dict = PyDict::new(py);
    for (k, v) in pairs {
        dict.set_item(fsdecode(py, &k)?, fsdecode(py, &v)?)?;
    }
    Ok(dict.into_any().unbind())
}

/// `KEY` for a field named `KEY_bytes`.
fn exact_of(key: &str) -> Option<&str> {
    key.strip_suffix("_bytes")
}

/// Converts any serializable record to a Python object (see the module doc).
pub fn to_py<T: Serialize + ?Sized>(py: Python<'_>, value: &T) -> PyResult<PyObject> {
    value.serialize(ToPy { py }).map_err(|e| e.0)
}

/// A Python error carried through serde.
#[derive(Debug)]
pub struct SerError(PyErr);

impl std::fmt::Display for SerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SerError {}

impl ser::Error for SerError {
    fn custom<M: std::fmt::Display>(msg: M) -> Self {
        SerError(PyValueError::new_err(msg.to_string()))
    }
}

impl From<PyErr> for SerError {
    fn from(e: PyErr) -> Self {
        SerError(e)
    }
}

type Out = Result<PyObject, SerError>;

/// The serializer: holds only the GIL token.
#[derive(Clone, Copy)]
struct ToPy<'py> {
    py: Python<'py>,
}

impl<'py> ToPy<'py> {
    fn obj<T>(self, v: T) -> Out
    where
        T: IntoPyObject<'py>,
    {
        Ok(v.into_py_any(self.py)?)
    }
}

/// A list or tuple being built.
struct Seq<'py> {
    py: Python<'py>,
    items: Vec<PyObject>,
    tuple: bool,
}

impl Seq<'_> {
    fn push<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerError> {
        self.items.push(v.serialize(ToPy { py: self.py })?);
        Ok(())
    }

    fn done(self) -> Out {
        Ok(if self.tuple {
            PyTuple::new(self.py, self.items)?.into_any().unbind()
        } else {
            PyList::new(self.py, self.items)?.into_any().unbind()
        })
    }
}

/// A dict being built, with the key waiting for its value.
struct Map<'py> {
    dict: Bound<'py, PyDict>,
    key: Option<PyObject>,
}

/// A struct being built: its Rust name and the fields seen so far.
struct Record<'py> {
    py: Python<'py>,
    name: &'static str,
    fields: Vec<(&'static str, PyObject)>,
}

/// An instance of the named-tuple `class` holding `args`, made with `tuple.__new__` (the class's
/// own `__new__` would take the fields one by one).
fn new_tuple(py: Python<'_>, class: Py<PyType>, args: Bound<'_, PyTuple>) -> Out {
    let new = TUPLE_NEW.get_or_try_init(py, || -> PyResult<PyObject> {
        Ok(py.get_type::<PyTuple>().getattr("__new__")?.unbind())
    })?;
    Ok(new.call1(py, (class, args))?)
}

impl<'py> Record<'py> {
    fn done(self) -> Out {
        let py = self.py;
        let mut fields = self.fields;
        // A `KEY_bytes` list beside a `KEY` replaces `KEY`'s lossy string with the exact one
        // (`read_bytes`, a number with no `read` beside it, is a field like any other).
        while let Some(i) = fields.iter().position(|(k, v)| {
            exact_of(k).is_some_and(|base| fields.iter().any(|(f, _)| *f == base))
                && v.bind(py).is_instance_of::<PyList>()
        }) {
            let (key, exact) = fields.swap_remove(i);
            let base = exact_of(key).unwrap_or(key);
            let decoded = decode_exact(py, exact.bind(py))?;
            if let Some(field) = fields.iter_mut().find(|(k, _)| *k == base) {
                field.1 = decoded;
            }
        }
        // The chosen tuple's class and its values in its field order, built under the lock
        // (no Python code runs while it is held: only tuples are made).
        let chosen = {
            let types = TYPES.lock().unwrap_or_else(|e| e.into_inner());
            let has = |f: &String| fields.iter().any(|(n, _)| n == f);
            match types
                .iter()
                .filter(|e| e.rust_name == self.name && e.fields.iter().all(has))
                .max_by_key(|e| e.fields.len())
            {
                Some(entry) => {
                    let values = entry.fields.iter().map(|n| {
                        let at = fields.iter().position(|(f, _)| f == n);
                        at.map_or_else(|| py.None(), |i| fields.swap_remove(i).1)
                    });
                    Some((entry.class.clone_ref(py), PyTuple::new(py, values)?))
                }
                None => None,
            }
        };
        match chosen {
            Some((class, args)) => new_tuple(py, class, args),
            None => {
                let dict = PyDict::new(py);
                for (k, v) in fields {
                    dict.set_item(k, v)?;
                }
                Ok(dict.into_any().unbind())
            }
        }
    }
}

impl<'py> ser::Serializer for ToPy<'py> {
    type Ok = PyObject;
    type Error = SerError;
    type SerializeSeq = Seq<'py>;
    type SerializeTuple = Seq<'py>;
    type SerializeTupleStruct = Seq<'py>;
    type SerializeTupleVariant = Seq<'py>;
    type SerializeMap = Map<'py>;
    type SerializeStruct = Record<'py>;
    type SerializeStructVariant = Record<'py>;

    fn serialize_bool(self, v: bool) -> Out {
        self.obj(v)
    }
    fn serialize_i8(self, v: i8) -> Out {
        self.obj(v)
    }
    fn serialize_i16(self, v: i16) -> Out {
        self.obj(v)
    }
    fn serialize_i32(self, v: i32) -> Out {
        self.obj(v)
    }
    fn serialize_i64(self, v: i64) -> Out {
        self.obj(v)
    }
    fn serialize_u8(self, v: u8) -> Out {
        self.obj(v)
    }
    fn serialize_u16(self, v: u16) -> Out {
        self.obj(v)
    }
    fn serialize_u32(self, v: u32) -> Out {
        self.obj(v)
    }
    fn serialize_u64(self, v: u64) -> Out {
        self.obj(v)
    }
    fn serialize_f32(self, v: f32) -> Out {
        self.obj(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Out {
        self.obj(v)
    }
    fn serialize_char(self, v: char) -> Out {
        self.obj(v.to_string())
    }
    fn serialize_str(self, v: &str) -> Out {
        self.obj(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Out {
        fsdecode(self.py, v)
    }
    fn serialize_none(self) -> Out {
        Ok(self.py.None())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Out {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Out {
        Ok(self.py.None())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Out {
        Ok(self.py.None())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Out {
        self.obj(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> Out {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        v: &T,
    ) -> Out {
        v.serialize(self)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Seq<'py>, SerError> {
        Ok(Seq {
            py: self.py,
            items: Vec::with_capacity(len.unwrap_or(0)),
            tuple: false,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq<'py>, SerError> {
        Ok(Seq {
            py: self.py,
            items: Vec::with_capacity(len),
            tuple: true,
        })
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Seq<'py>, SerError> {
        self.serialize_tuple(len)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        len: usize,
    ) -> Result<Seq<'py>, SerError> {
        self.serialize_tuple(len)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Map<'py>, SerError> {
        Ok(Map {
            dict: PyDict::new(self.py),
            key: None,
        })
    }
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Record<'py>, SerError> {
        Ok(Record {
            py: self.py,
            name,
            fields: Vec::with_capacity(len),
        })
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _: u32,
        _: &'static str,
        len: usize,
    ) -> Result<Record<'py>, SerError> {
        self.serialize_struct(name, len)
    }
}

impl ser::SerializeSeq for Seq<'_> {
    type Ok = PyObject;
    type Error = SerError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerError> {
        self.push(v)
    }
    fn end(self) -> Out {
        self.done()
    }
}

impl ser::SerializeTuple for Seq<'_> {
    type Ok = PyObject;
    type Error = SerError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerError> {
        self.push(v)
    }
    fn end(self) -> Out {
        self.done()
    }
}

impl ser::SerializeTupleStruct for Seq<'_> {
    type Ok = PyObject;
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerError> {
        self.push(v)
    }
    fn end(self) -> Out {
        self.done()
    }
}

impl ser::SerializeTupleVariant for Seq<'_> {
    type Ok = PyObject;
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerError> {
        self.push(v)
    }
    fn end(self) -> Out {
        self.done()
    }
}

impl ser::SerializeMap for Map<'_> {
    type Ok = PyObject;
    type Error = SerError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), SerError> {
        self.key = Some(k.serialize(ToPy { py: self.dict.py() })?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerError> {
        let py = self.dict.py();
        let key = self
            .key
            .take()
            .ok_or_else(|| <SerError as ser::Error>::custom("map value without a key"))?;
        self.dict.set_item(key, v.serialize(ToPy { py })?)?;
        Ok(())
    }
    fn end(self) -> Out {
        // A `KEY_bytes` entry replaces `KEY`'s lossy string with the exact one.
        let py = self.dict.py();
        let exact: Vec<(String, Bound<'_, PyAny>)> = self
            .dict
            .iter()
            .filter_map(|(k, v)| {
                let k = k.extract::<String>().ok()?;
                let base = exact_of(&k)?;
                let beside = self.dict.contains(base).ok()? && v.is_instance_of::<PyList>();
                beside.then(|| (base.to_owned(), v))
            })
            .collect();
        for (base, bytes) in exact {
            self.dict.set_item(&base, decode_exact(py, &bytes)?)?;
            self.dict.del_item(format!("{base}_bytes"))?;
        }
        // A struct with a flattened field (`#[serde(flatten)]`: MemoryFullInfo's `memory`, a
        // map's `sizes`) arrives as a map keyed by its field names: it becomes the registered
        // tuple whose fields are exactly those keys, if there is one (a plain dict such as
        // environ's matches none).
        let keys: Option<Vec<String>> = self
            .dict
            .keys()
            .iter()
            .map(|k| k.extract::<String>().ok())
            .collect();
        if let Some(keys) = keys {
            let chosen = {
                let types = TYPES.lock().unwrap_or_else(|e| e.into_inner());
                match types.iter().find(|e| {
                    e.fields.len() == keys.len() && e.fields.iter().all(|f| keys.contains(f))
                }) {
                    Some(entry) => {
                        let mut values = Vec::with_capacity(entry.fields.len());
                        for f in &entry.fields {
                            values.push(
                                self.dict
                                    .get_item(f)?
                                    .map_or_else(|| py.None(), |v| v.unbind()),
                            );
                        }
                        Some((entry.class.clone_ref(py), PyTuple::new(py, values)?))
                    }
                    None => None,
                }
            };
            if let Some((class, args)) = chosen {
                return new_tuple(py, class, args);
            }
        }
        Ok(self.dict.into_any().unbind())
    }
}

impl ser::SerializeStruct for Record<'_> {
    type Ok = PyObject;
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), SerError> {
        let v = v.serialize(ToPy { py: self.py })?;
        self.fields.push((key, v));
        Ok(())
    }
    fn skip_field(&mut self, _: &'static str) -> Result<(), SerError> {
        Ok(())
    }
    fn end(self) -> Out {
        self.done()
    }
}

impl ser::SerializeStructVariant for Record<'_> {
    type Ok = PyObject;
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), SerError> {
        ser::SerializeStruct::serialize_field(self, key, v)
    }
    fn end(self) -> Out {
        self.done()
    }
}
