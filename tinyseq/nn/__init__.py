"""Layers and modules: ``from tinyseq import nn``."""
import sys

from .. import functional
from . import init, parallel, utils
from .layers import (CELU, ELU, GELU, GLU, SELU, BCELoss, BCEWithLogitsLoss, Bilinear,
                     CosineEmbeddingLoss, CosineSimilarity, CrossEntropyLoss, CTCLoss, Dropout,
                     Dropout2d, Embedding, EmbeddingBag, Flatten, GaussianNLLLoss, Hardshrink,
                     Hardsigmoid, Hardswish, Hardtanh, HingeEmbeddingLoss, HuberLoss, Identity,
                     KLDivLoss, L1Loss, LeakyReLU, Linear, LogSigmoid, LogSoftmax,
                     MarginRankingLoss, Mish, MSELoss, MultiLabelSoftMarginLoss, MultiMarginLoss,
                     NLLLoss, PairwiseDistance, PoissonNLLLoss, PReLU, ReLU, ReLU6, Sigmoid, SiLU,
                     SmoothL1Loss, Softmax, Softmin, Softplus, Softshrink, Softsign,
                     SoftMarginLoss, Tanh, Tanhshrink, Threshold, TripletMarginLoss, Unflatten)
from .module import (Module, ModuleDict, ModuleList, Parameter, ParameterDict, ParameterList,
                     Sequential)
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .attention import Attention, MultiheadAttention
from .conv import (AdaptiveAvgPool1d, AdaptiveMaxPool1d, AvgPool1d, Conv1d, Conv2d, MaxPool1d,
                   MaxPool2d)
from .padding import (CircularPad1d, CircularPad2d, ConstantPad1d, ConstantPad2d,
                      ReflectionPad1d, ReflectionPad2d, ReplicationPad1d, ReplicationPad2d,
                      ZeroPad1d, ZeroPad2d)
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
