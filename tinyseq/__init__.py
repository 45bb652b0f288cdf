"""tinyseq: a small autograd framework for sequence models that shows how BPTT works."""
import numpy as _numpy

from . import cuda, data, datasets, functional, nn, optim, text, train
from . import trace
from .anomaly import detect_anomaly, is_anomaly_enabled
from .autograd import enable_grad, is_grad_enabled, no_grad, scope, timestep
from .checkpoint import load_checkpoint, save_checkpoint
from .creation import (arange, full, linspace, ones, ones_like, rand, randn, tensor, zeros,
                       zeros_like)
from .random import manual_seed
from .serialization import load, save
from .trace import Trace
from .tensor import (Tensor, abs, cat, chunk, concat, cos, exp, get_default_dtype, log,
                     log_softmax, matmul, relu, set_default_dtype, sigmoid, sin, softmax, split,
                     sqrt, stack, tanh, where)

__version__ = "0.1.0"

float32 = _numpy.float32
float64 = _numpy.float64
int32 = _numpy.int32
int64 = _numpy.int64
bool = _numpy.bool_
