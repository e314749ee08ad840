-- Typst only: every callout becomes a tinted block with a bold title, in plain Typst.
-- Quarto 1.7's own Typst callouts import its bundled @preview/fontawesome:0.5.0 package (for the icons), and
-- the Typst compiler it ships warns "`sect` is deprecated" about that package on every page with a callout.
local colours = { note = "0d6efd", tip = "198754", warning = "e0a800", important = "dc3545", caution = "fd7e14" }

function Callout(callout)
  if not quarto.doc.is_format("typst") then
    return nil
  end
  local c = colours[callout.type] or colours.note
  local blocks = pandoc.Blocks({})
  blocks:insert(pandoc.RawBlock("typst", '#block(width: 100%, inset: 8pt, radius: 2pt, fill: rgb("#' .. c
    .. '").lighten(90%), stroke: (left: 3pt + rgb("#' .. c .. '")))['))
  if callout.title ~= nil then
    local title = quarto.utils.as_inlines(callout.title)
    if #title > 0 then
      blocks:insert(pandoc.Para({ pandoc.Strong(title) }))
    end
  end
  blocks:extend(quarto.utils.as_blocks(callout.content))
  blocks:insert(pandoc.RawBlock("typst", "]"))
  return blocks
end
