"""Character-level seq2seq (Keras example): an encoder LSTM returning its states, a
decoder LSTM started from them, and the inference models reusing the same layers."""
import keras

num_encoder_tokens, num_decoder_tokens, latent_dim = 30, 40, 64

encoder_inputs = keras.Input(shape=(None, num_encoder_tokens))
encoder = keras.layers.LSTM(latent_dim, return_state=True)
encoder_outputs, state_h, state_c = encoder(encoder_inputs)
encoder_states = [state_h, state_c]

decoder_inputs = keras.Input(shape=(None, num_decoder_tokens))
decoder_lstm = keras.layers.LSTM(latent_dim, return_sequences=True, return_state=True)
decoder_outputs, _, _ = decoder_lstm(decoder_inputs, initial_state=encoder_states)
decoder_dense = keras.layers.Dense(num_decoder_tokens, activation="softmax")
decoder_outputs = decoder_dense(decoder_outputs)

model = keras.Model([encoder_inputs, decoder_inputs], decoder_outputs)

encoder_model = keras.Model(encoder_inputs, encoder_states)

decoder_state_input_h = keras.Input(shape=(latent_dim,))
decoder_state_input_c = keras.Input(shape=(latent_dim,))
decoder_states_inputs = [decoder_state_input_h, decoder_state_input_c]
decoder_outputs, state_h_dec, state_c_dec = decoder_lstm(
    decoder_inputs, initial_state=decoder_states_inputs)
decoder_outputs = decoder_dense(decoder_outputs)
decoder_model = keras.Model([decoder_inputs] + decoder_states_inputs,
                            [decoder_outputs, state_h_dec, state_c_dec])

gru = keras.layers.GRU(8, return_state=True, return_sequences=True)
seq_in = keras.Input((5, 3))
seq, state = gru(seq_in)
rnn_seq, rnn_state = keras.layers.SimpleRNN(8, return_state=True)(seq, initial_state=state)
states = keras.Model(seq_in, keras.layers.concatenate([rnn_seq, rnn_state, state]))
