"""A bounded interpreter for model files: Keras code is *read*, never executed.

The file's ``ast`` is walked by :class:`~engine.stack.interp.interpreter.Interpreter`
over symbolic values (:mod:`~engine.stack.interp.values`): numbers, strings and
containers are themselves; Keras layers are specs, tensors are shapes. Layer output shapes
come from the layers (:mod:`~engine.stack.interp.graph`), backbones from shipped data
(:mod:`~engine.stack.interp.backbones`); every model is assembled in ``model.layers`` order
(:mod:`~engine.stack.interp.assemble`) and one is selected (:mod:`~engine.stack.interp.
program`). Limits are in :mod:`~engine.stack.interp.limits`; refusals name the line and
the construct (:mod:`~engine.stack.interp.errors`).

Modules: ``limits``, ``errors``, ``values``, ``scope``, ``builtins``, ``keras_api``,
``graph``, ``assemble``, ``backbones``, ``expressions``, ``calls``, ``interpreter``,
``program``.
"""

from engine.stack.interp.errors import Refused
from engine.stack.interp.limits import LimitExceeded
from engine.stack.interp.program import Program, partial, read, select

__all__ = ["LimitExceeded", "Program", "Refused", "partial", "read", "select"]
