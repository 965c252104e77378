"""``lamina.nn``: layers and blocks in the PyTorch idiom, over one Module class.

``lamina.nn.functional`` holds the operators; everything here is a Module with torch's name, arguments,
default initialisation and state_dict keys.
"""
from lamina.nn import functional
from lamina.nn.parameter import Parameter, UninitializedParameter, UninitializedBuffer
from lamina.nn.module import Module, StateDictError
from lamina.nn.containers import Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict
# --- init ---
# --- linear ---
# --- conv ---
# --- pooling ---
# --- normalization ---
# --- dropout ---
# --- activation ---
# --- sparse ---
# --- flatten ---
# --- loss ---
# --- rnn ---
# --- attention ---
# --- transformer ---
# --- utils ---
