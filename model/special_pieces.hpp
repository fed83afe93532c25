#pragma once
// special_pieces — recognising SentencePiece-style byte-fallback pieces ("<0x41>").
#include <optional>
#include <string_view>

namespace alisa::model {

// The byte a "<0xHH>" piece stands for, or nullopt for any other piece.
std::optional<unsigned char> byte_piece_value(std::string_view piece);

}  // namespace alisa::model
