//! The native adapter: loads the plugin with wasmtime and calls it under a
//! fuel budget and a memory cap, turning every way a guest can fail into a
//! [`PluginError`] so the host keeps serving.
//!
//! A [`Plugin`] is compiled once and shared; each [`Plugin::call`] runs in
//! a fresh instance (nothing leaks from one call to the next, a trap
//! poisons nothing), and a [`Session`] keeps one instance for calls that
//! carry state across (the stepwise evaluation run, the resident state of
//! a [`ResidentScheduler`]).

mod resident;
mod scheduler;

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;
use wasmtime::{
    Config, Engine, Instance, Memory, Module, ResourceLimiter, Store, StoreLimits,
    StoreLimitsBuilder, Trap, TypedFunc,
};

use crate::abi::{Envelope, Op, ABI_VERSION};

pub use resident::{EvalStep, ResidentScheduler};
pub use scheduler::{PluginEvalRun, PluginScheduler};

/// What one call may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Fuel per call (about one unit per WebAssembly instruction).
    pub fuel: u64,
    /// Largest linear memory of an instance, in bytes.
    pub memory_bytes: usize,
}

impl Default for Limits {
    /// Room for planning thousands of allocations on thousands of nodes,
    /// while a runaway guest stops within seconds.
    fn default() -> Self {
        Limits {
            fuel: 20_000_000_000,
            memory_bytes: 1 << 30,
        }
    }
}

/// Why a plugin call gave no answer. The host stays usable after each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginError {
    /// The module cannot be used as a Caravan plugin.
    #[error("plugin cannot be loaded: {0}")]
    Load(String),
    #[error("plugin ran out of fuel (budget {budget} units)")]
    OutOfFuel { budget: u64 },
    #[error("plugin exceeded its memory cap of {cap} bytes (wanted {wanted})")]
    MemoryCap { cap: usize, wanted: usize },
    /// Any other trap: a panic in the guest, a stack overflow, a bad access.
    #[error("plugin trapped: {0}")]
    Trap(String),
    /// The guest answered something that is not a valid envelope.
    #[error("plugin answered badly: {0}")]
    BadAnswer(String),
    /// The request could not be encoded.
    #[error("plugin request cannot be encoded: {0}")]
    Request(String),
    /// The operation failed in the core; the text is the core's.
    #[error("{0}")]
    Guest(String),
    /// A `Session` that trapped once is not called again.
    #[error("plugin session is unusable after an earlier failure")]
    Poisoned,
    /// A [`ResidentScheduler`] without an instance (never loaded, or
    /// dropped after a failure).
    #[error("plugin instance holds no cluster state (load one first)")]
    Unloaded,
}

/// Store data: the memory limiter, which remembers whether it refused.
struct Guard {
    limits: StoreLimits,
    cap: usize,
    fuel: u64,
    refused: Option<usize>,
}

impl ResourceLimiter for Guard {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let verdict = self.limits.memory_growing(current, desired, maximum);
        if !matches!(verdict, Ok(true)) {
            self.refused = Some(desired);
        }
        verdict
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }
}

/// A compiled plugin, cheap to clone and share between threads.
#[derive(Clone)]
pub struct Plugin {
    engine: Engine,
    module: Module,
    limits: Limits,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("limits", &self.limits)
            .finish()
    }
}

impl Plugin {
    /// Compiles the plugin at `path` and checks it is one (no imports,
    /// every export, the ABI version this adapter speaks).
    pub fn from_file(path: impl AsRef<Path>, limits: Limits) -> Result<Self, PluginError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path)
            .map_err(|e| PluginError::Load(format!("reading {}: {e}", path.display())))?;
        Self::from_bytes(&bytes, limits)
    }

    /// Compiles a plugin from its bytes (binary, or text with `wat`).
    pub fn from_bytes(bytes: &[u8], limits: Limits) -> Result<Self, PluginError> {
        let mut config = Config::new();
        config.consume_fuel(true);
        let engine = Engine::new(&config).map_err(|e| PluginError::Load(format!("{e:#}")))?;
        let module =
            Module::new(&engine, bytes).map_err(|e| PluginError::Load(format!("{e:#}")))?;
        if let Some(import) = module.imports().next() {
            return Err(PluginError::Load(format!(
                "it imports {}::{}; a Caravan plugin has no imports",
                import.module(),
                import.name()
            )));
        }
        let plugin = Plugin {
            engine,
            module,
            limits,
        };
        let mut session = plugin.session()?;
        let version = session.abi_version()?;
        if version != ABI_VERSION {
            return Err(PluginError::Load(format!(
                "it speaks ABI version {version}, this host speaks {ABI_VERSION}"
            )));
        }
        for op in Op::ALL {
            session.func(op)?;
        }
        Ok(plugin)
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The same plugin with other limits (the compiled code is shared).
    pub fn with_limits(&self, limits: Limits) -> Plugin {
        Plugin {
            limits,
            ..self.clone()
        }
    }

    /// A fresh instance for calls that share guest state.
    pub fn session(&self) -> Result<Session, PluginError> {
        Session::new(self)
    }

    /// Runs `op` on raw request bytes in a fresh instance; the answer
    /// envelope as the guest wrote it.
    pub fn call_raw(&self, op: Op, request: &[u8]) -> Result<Vec<u8>, PluginError> {
        self.session()?.call_raw(op, request)
    }

    /// Runs `op` on a request in a fresh instance and decodes the answer;
    /// an `{"error": …}` becomes [`PluginError::Guest`].
    pub fn call<Req: Serialize + ?Sized, Resp: DeserializeOwned>(
        &self,
        op: Op,
        request: &Req,
    ) -> Result<Resp, PluginError> {
        self.session()?.call(op, request)
    }
}

/// One live instance of a plugin: fuel and memory limits apply per call
/// and per instance.
pub struct Session {
    store: Store<Guard>,
    memory: Memory,
    alloc: TypedFunc<u32, u32>,
    dealloc: TypedFunc<(u32, u32), ()>,
    instance: Instance,
    poisoned: bool,
}

impl Session {
    fn new(plugin: &Plugin) -> Result<Self, PluginError> {
        let limits = plugin.limits;
        let guard = Guard {
            limits: StoreLimitsBuilder::new()
                .memory_size(limits.memory_bytes)
                .instances(1)
                .trap_on_grow_failure(true)
                .build(),
            cap: limits.memory_bytes,
            fuel: limits.fuel,
            refused: None,
        };
        let mut store = Store::new(&plugin.engine, guard);
        store.limiter(|g| g);
        store
            .set_fuel(limits.fuel)
            .map_err(|e| PluginError::Load(format!("{e:#}")))?;
        let instance = match Instance::new(&mut store, &plugin.module, &[]) {
            Ok(i) => i,
            Err(e) => return Err(classify(&store, limits, e, PluginError::Load)),
        };
        let load =
            |what: &str, e: wasmtime::Error| PluginError::Load(format!("export {what}: {e:#}"));
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or_else(|| PluginError::Load("it exports no memory".into()))?;
        let alloc = instance
            .get_typed_func(&mut store, "alloc")
            .map_err(|e| load("alloc", e))?;
        let dealloc = instance
            .get_typed_func(&mut store, "dealloc")
            .map_err(|e| load("dealloc", e))?;
        Ok(Session {
            store,
            memory,
            alloc,
            dealloc,
            instance,
            poisoned: false,
        })
    }

    /// The instance's linear memory, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.memory.data_size(&self.store)
    }

    fn func(&mut self, op: Op) -> Result<TypedFunc<(u32, u32), u64>, PluginError> {
        self.instance
            .get_typed_func(&mut self.store, op.name())
            .map_err(|e| PluginError::Load(format!("export {}: {e:#}", op.name())))
    }

    fn abi_version(&mut self) -> Result<u32, PluginError> {
        let f: TypedFunc<(), u32> = self
            .instance
            .get_typed_func(&mut self.store, "caravan_abi_version")
            .map_err(|e| PluginError::Load(format!("export caravan_abi_version: {e:#}")))?;
        self.guarded(|store| f.call(store, ()))
    }

    /// Runs a guest function with a full fuel budget, classifying failures.
    fn guarded<T>(
        &mut self,
        f: impl FnOnce(&mut Store<Guard>) -> wasmtime::Result<T>,
    ) -> Result<T, PluginError> {
        if self.poisoned {
            return Err(PluginError::Poisoned);
        }
        let limits = Limits {
            fuel: self.store.data().fuel,
            memory_bytes: self.store.data().cap,
        };
        if let Err(e) = self.store.set_fuel(limits.fuel) {
            return Err(PluginError::Trap(format!("{e:#}")));
        }
        match f(&mut self.store) {
            Ok(v) => Ok(v),
            Err(e) => {
                self.poisoned = true;
                Err(classify(&self.store, limits, e, PluginError::Trap))
            }
        }
    }

    /// Runs `op` on raw request bytes; the answer envelope as written.
    pub fn call_raw(&mut self, op: Op, request: &[u8]) -> Result<Vec<u8>, PluginError> {
        let func = self.func(op)?;
        let len = u32::try_from(request.len())
            .map_err(|_| PluginError::Request("request larger than 4 GiB".into()))?;
        let (alloc, dealloc, memory) = (self.alloc.clone(), self.dealloc.clone(), self.memory);
        let packed = self.guarded(|store| {
            let ptr = alloc.call(&mut *store, len)?;
            if ptr == 0 && len > 0 {
                wasmtime::bail!("alloc({len}) returned null");
            }
            memory.write(&mut *store, ptr as usize, request)?;
            let packed = func.call(&mut *store, (ptr, len))?;
            dealloc.call(&mut *store, (ptr, len))?;
            Ok(packed)
        })?;
        let (ptr, len) = ((packed >> 32) as usize, (packed & 0xffff_ffff) as usize);
        let answer = self
            .memory
            .data(&self.store)
            .get(ptr..ptr.saturating_add(len))
            .map(<[u8]>::to_vec)
            .ok_or_else(|| {
                self.poisoned = true;
                PluginError::BadAnswer(format!("answer at {ptr}+{len} lies outside linear memory"))
            })?;
        let dealloc = self.dealloc.clone();
        self.guarded(|store| dealloc.call(store, (ptr as u32, len as u32)))?;
        Ok(answer)
    }

    /// Runs `op` on a request and decodes the answer.
    pub fn call<Req: Serialize + ?Sized, Resp: DeserializeOwned>(
        &mut self,
        op: Op,
        request: &Req,
    ) -> Result<Resp, PluginError> {
        let bytes = caravan_core::json_out::to_vec(request)
            .map_err(|e| PluginError::Request(e.to_string()))?;
        decode(&self.call_raw(op, &bytes)?)
    }
}

/// Reads an answer envelope.
pub fn decode<Resp: DeserializeOwned>(answer: &[u8]) -> Result<Resp, PluginError> {
    decode_borrowed(answer)
}

/// [`decode`] into a value that may borrow from the answer.
pub fn decode_borrowed<'a, Resp: serde::Deserialize<'a>>(
    answer: &'a [u8],
) -> Result<Resp, PluginError> {
    let envelope: Envelope<Resp> =
        serde_json::from_slice(answer).map_err(|e| PluginError::BadAnswer(e.to_string()))?;
    match (envelope.ok, envelope.error) {
        (_, Some(e)) => Err(PluginError::Guest(e)),
        (Some(ok), None) => Ok(ok),
        (None, None) => Err(PluginError::BadAnswer("neither ok nor error".into())),
    }
}

/// Names the failure of a guest call.
fn classify(
    store: &Store<Guard>,
    limits: Limits,
    e: wasmtime::Error,
    other: fn(String) -> PluginError,
) -> PluginError {
    if let Some(wanted) = store.data().refused {
        return PluginError::MemoryCap {
            cap: limits.memory_bytes,
            wanted,
        };
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => PluginError::OutOfFuel {
            budget: limits.fuel,
        },
        Some(trap) => other(trap.to_string()),
        None => other(format!("{e:#}")),
    }
}
