"""tinyseq: a small autograd framework for sequence models that shows how BPTT works."""
import numpy as _numpy

from . import allocator as _allocator  # noqa: F401  (keeps freed memory for the next step)
# these put Tensor's in-place methods, reductions, shape methods and further math on it
from . import (tensor_inplace as _inplace, tensor_reductions as _reductions,  # noqa: F401
               tensor_shapes as _shapes, tensor_linalg as _linalg,
               tensor_indexing as _indexing)
from .tensor_math import (acos, acosh, arccos, arccosh, arcsin, arcsinh, arctan, arctan2,
                          arctanh, asin, asinh, atan, atan2, atanh, copysign, cosh, deg2rad, erf,
                          erfc, exp2, fix, float_power, fmod, frac, heaviside, hypot, log10, log2,
                          logaddexp, logaddexp2, logit, nan_to_num, rad2deg, sgn, sinh, trunc,
                          xlogy)
from . import (accelerator, backends, cuda, data, datasets, distributions, functional, nn, optim,
               text, train, utils)
from . import trace
from . import custom_function as _custom_function  # noqa: F401  (tinyseq.autograd.function)
from . import amp, cuda_amp as _cuda_amp  # noqa: F401  (tinyseq.cuda.amp)
from .amp import autocast
from .anomaly import detect_anomaly, is_anomaly_enabled
from .autograd import Variable
from .modes import (enable_grad, inference_mode, is_grad_enabled, no_grad, scope,
                    set_grad_enabled, timestep)
from .checkpoint import load_checkpoint, save_checkpoint
from .compare import allclose, equal, isclose
from .creation import (BoolTensor, DoubleTensor, FloatTensor, IntTensor, LongTensor, arange,
                       as_tensor, bernoulli, empty, empty_like, eye, from_numpy, full, full_like,
                       linspace, normal, ones, ones_like, poisson, rand, rand_like, randint,
                       randint_like, randn, randn_like, randperm, tensor, zeros, zeros_like)
from .dtypes import (Size, dtype, finfo, get_default_dtype, iinfo, promote_types,
                     set_default_dtype)
from .random import Generator, manual_seed
from .threads import (compile, get_num_interop_threads, get_num_threads,
                      set_num_interop_threads, set_num_threads)
from .serialization import load, save
from .trace import Trace
from .tensor_indexing import (atleast_1d, atleast_2d, atleast_3d, bincount, block_diag,
                              bucketize, cartesian_prod, column_stack, dstack, index_copy,
                              masked_scatter, rot90, row_stack, searchsorted, select, take,
                              take_along_dim, tensor_split, unique_consecutive)
from .tensor_linalg import (addbmm, addmm, baddbmm, cdist, chain_matmul, cross, diag,
                            diag_embed, diagonal, kron, tril_indices,
                            triu_indices)
from .tensor_reductions import (aminmax, cummax, cummin, kthvalue, logcumsumexp, median, mode,
                                nanmean, nanmedian, nanquantile, nansum, quantile, std_mean,
                                var_mean)
from .tensor import (Tensor, abs, add, addcdiv, addcmul, all, amax, amin, any, argmax, argmin,
                     argsort, bitwise_and, bitwise_not, bitwise_or, bitwise_xor, bmm, broadcast_to,
                     cat, ceil, chunk, clamp, clip, clone, concat, cos, count_nonzero, cumprod,
                     cumsum, device, diff, div, divide, dot, einsum, eq, exp, expm1, flatten, flip,
                     floor, floor_divide, gather, ge, gt, hstack, index_add, index_select,
                     is_tensor, isfinite, isinf, isnan, le, lerp, log, log1p, log_softmax,
                     logical_and, logical_not, logical_or, logical_xor, logsumexp, lt, masked_fill,
                     masked_select, matmul, max, maximum, mean, meshgrid, min, minimum, mm,
                     movedim, mul, multinomial, multiply, narrow, ne, neg, negative, nonzero, norm,
                     numel, outer, permute, pow, prod, reciprocal, relu, remainder,
                     repeat_interleave, reshape, result_type, roll, round, rsqrt, scatter,
                     scatter_add, sigmoid, sign, sin, softmax, sort, split, sqrt, square, squeeze,
                     stack, std, sub, subtract, sum, swapaxes, swapdims, t, tanh, tensordot, tile,
                     topk, transpose, tril, triu, true_divide, unbind, unflatten, unique,
                     unsqueeze, var, vstack, where)

__version__ = "0.1.0"

inf, nan, pi, e = _numpy.inf, _numpy.nan, _numpy.pi, _numpy.e

float16 = half = dtype(_numpy.float16)
float32 = float = dtype(_numpy.float32)
float64 = double = dtype(_numpy.float64)
int32 = int = dtype(_numpy.int32)
int64 = long = dtype(_numpy.int64)
uint8 = dtype(_numpy.uint8)
int8 = dtype(_numpy.int8)
int16 = short = dtype(_numpy.int16)
bool = dtype(_numpy.bool_)


def __getattr__(name):
    if name == "onnx":
        raise AttributeError("tinyseq has no onnx: exporting to ONNX is deliberately not "
                             "supported; save the weights with ts.save(model.state_dict(), path)")
    raise AttributeError(f"module 'tinyseq' has no attribute {name!r}")
