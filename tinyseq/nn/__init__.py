"""Layers and modules: ``from tinyseq import nn``."""
from . import init, utils
from .layers import (BCEWithLogitsLoss, CrossEntropyLoss, Dropout, Embedding, Flatten, Identity,
                     Linear, LogSoftmax, MSELoss, NLLLoss, ReLU, Sigmoid, Softmax, Tanh)
from .module import Module, ModuleList, Parameter, Sequential
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .attention import Attention
from .conv import Conv2d, MaxPool2d
from .seq2seq import Seq2Seq
