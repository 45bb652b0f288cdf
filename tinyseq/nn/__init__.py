"""Layers and modules: ``from tinyseq import nn``."""
import sys

from .. import functional
from . import init, parallel, utils
from .layers import (ELU, GELU, GLU, BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, Dropout,
                     Dropout2d, Embedding, Flatten, Hardtanh, HuberLoss, Identity, KLDivLoss,
                     L1Loss, LeakyReLU, Linear, LogSigmoid, LogSoftmax, MSELoss, NLLLoss, ReLU,
                     Sigmoid, SiLU, SmoothL1Loss, Softmax, Softplus, Tanh)
from .module import (Module, ModuleDict, ModuleList, Parameter, ParameterDict, ParameterList,
                     Sequential)
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .attention import Attention, MultiheadAttention
from .conv import (AdaptiveAvgPool1d, AdaptiveMaxPool1d, AvgPool1d, Conv1d, Conv2d, MaxPool1d,
                   MaxPool2d)
from .seq2seq import Seq2Seq

# PyTorch's path to the functions, ``import tinyseq.nn.functional as F``, names this same module
sys.modules[__name__ + ".functional"] = functional

_NOT_SUPPORTED = ("Transformer", "TransformerEncoder", "TransformerEncoderLayer",
                  "TransformerDecoder", "TransformerDecoderLayer")


def __getattr__(name):
    if name in _NOT_SUPPORTED:
        raise AttributeError(f"tinyseq.nn has no {name}: tinyseq is deliberately about recurrent "
                             f"models (RNN, LSTM, GRU, attention in nn.Seq2Seq); transformers are "
                             f"not supported")
    raise AttributeError(f"module 'tinyseq.nn' has no attribute {name!r}")
